"""bench/digit_judge.py, the classifier-feature Frechet distance that quality_bench reports: real
digits score at the floor with all ten classes; a collapsed or noisy generator does not."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import digit_judge  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return digit_judge.real_digits()


def test_held_out_real_digits_score_near_the_floor_with_all_ten_classes(digits):
    imgs, _ = digits
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(imgs))
    res = digit_judge.judge(imgs[perm[:900]], imgs[perm[900:]], n=400)
    assert 0.5 < res["ratio"] < 1.6, res["ratio"]
    assert res["classes_found"] == 10 and res["mean_confidence"] > 0.9


def test_one_repeated_class_is_found_as_one_class_far_from_the_floor(digits):
    imgs, labels = digits
    sevens = imgs[labels == 7]
    res = digit_judge.judge(np.concatenate([sevens] * 6)[:900], imgs, n=400)
    assert res["classes_found"] == 1 and res["class_shares"][7] > 0.98
    assert res["ratio"] > 10, res["ratio"]


def test_noise_is_far_from_the_floor_and_images_of_any_size_are_box_filtered_to_8x8(digits):
    imgs, _ = digits
    noise = np.random.default_rng(0).integers(0, 256, (500, 32, 32, 3), dtype=np.uint8)
    assert digit_judge.judge(noise, imgs, n=400)["ratio"] > 10
    big = np.repeat(np.repeat(imgs[:300], 4, axis=1), 4, axis=2)[..., None]  # 32 px, each pixel a 4x4 block
    assert np.allclose(digit_judge.to_8x8(big), digit_judge.to_8x8(imgs[:300]))


def test_fewer_than_a_hundred_images_are_refused(digits):
    with pytest.raises(ValueError, match="at least 100"):
        digit_judge.judge(digits[0][:50], digits[0])


def test_the_quality_goal_is_met_by_a_setting_only_when_every_seed_of_it_meets_it():
    import quality_bench as qb

    def row(name, ratio, classes=10):
        return {"name": name, "judge": {"ratio": ratio, "classes_found": classes}}

    assert qb.base_name("dcgan-b16-ttur-seed2") == "dcgan-b16-ttur" and qb.base_name("dcgan-seedy") == "dcgan-seedy"
    lucky = [row("dcgan", 1.7), row("ttur", 1.4), row("ttur-seed1", 2.3), row("ttur-seed2", 1.4)]
    seeds = qb.seed_groups(lucky)
    assert list(seeds) == ["ttur"] and seeds["ttur"]["max"] == 2.3 and abs(seeds["ttur"]["mean"] - 1.7) < 1e-12
    best = qb.best_of(lucky, seeds)
    assert best["name"] == "ttur" and best["cfd_ratio"] == 1.4 and best["met"] is False
    steady = [row("ttur", 1.4), row("ttur-seed1", 1.45), row("one", 1.3, classes=9)]
    best = qb.best_of(steady, qb.seed_groups(steady))
    assert best["name"] == "one" and best["met"] is False  # nine classes
    best = qb.best_of(steady[:2], qb.seed_groups(steady[:2]))
    assert best["name"] == "ttur" and best["met"] is True and best["seeds"]["all_met"] is True
    assert qb.best_of([row("solo", 1.45)], {})["met"] is True


def test_a_quality_run_stopped_after_a_checkpoint_resumes_and_adds_up_its_sessions_time(tmp_path, monkeypatch):
    """bench/quality_bench.train's bookkeeping, with the `gantool train` process stood in for (the
    resume itself is gantool's, tested bit-identical elsewhere): a session stopped after the run's
    first checkpoint is resumed with `--resume RUN --kimg K`; one stopped before it starts again."""
    import quality_bench as qb

    calls, run = [], tmp_path / "x"

    def session(*args, log):
        calls.append([str(a) for a in args])
        if len(calls) in (1, 3):  # stopped by Ctrl-C (exit 130): after its first checkpoint, then before any
            if len(calls) == 1:
                (run / "checkpoints").mkdir(parents=True)
                (run / "checkpoints" / "checkpoint").write_text("")
            raise SystemExit("gantool train failed (exit 130)")
        return {"step": 10}

    monkeypatch.setattr(qb, "gantool", session)
    with pytest.raises(SystemExit):
        qb.train("x", ["dcgan"], tmp_path / "data", 1.0, tmp_path)
    first = json.loads((tmp_path / "x.partial.json").read_text())
    assert first["sessions"] == 1 and first["wall_s"] > 0 and run.is_dir()
    res = qb.train("x", ["dcgan"], tmp_path / "data", 1.0, tmp_path)
    assert calls[1] == ["train", "--resume", str(run), "--kimg", "1.0", "-q"], calls[1]
    assert res["bench_sessions"] == 2 and res["bench_wall_s"] > first["wall_s"]
    assert not (tmp_path / "x.partial.json").exists() and qb.train("x", [], tmp_path, 1.0, tmp_path) == res
    assert len(calls) == 2  # a finished run is not trained again
    # stopped before its first checkpoint: the next session starts the run again, from nothing
    with pytest.raises(SystemExit):
        qb.train("y", ["dcgan"], tmp_path / "data", 1.0, tmp_path)
    run = tmp_path / "y"
    run.mkdir()
    (run / "stale").write_text("")
    res = qb.train("y", ["dcgan"], tmp_path / "data", 1.0, tmp_path)
    assert calls[3][:2] == ["train", "dcgan"] and "--resume" not in calls[3] and not (run / "stale").exists()
    assert res["bench_sessions"] == 1  # the lost session's time is not the run's

"""`gantool train` through its entry point: run folders, defaults, errors, learning."""

import json
import shutil

import numpy as np
import pytest

from conftest import copy_digits16, run_cli, run_in_process

FAST = ["--filters", 8, "--batch", 8, "--log-every", 5]


@pytest.fixture(scope="module")
def ws(tmp_path_factory, digits16):
    """A workspace with data/digits_16 (the real prep of builtin:digits)."""
    root = tmp_path_factory.mktemp("trainws")
    copy_digits16(digits16, root / "data/digits_16")
    return root


def test_dry_run_resolves_variant_defaults_and_writes_nothing(ws):
    res = run_in_process("train", "hdcgan", "--dry-run", "--json", cwd=ws)
    assert res.rc == 0, res
    c = res.json["config"]
    assert (c["variant"], c["batch"], c["filters"], c["lr_g"], c["size"], c["channels"]) == ("hdcgan", 32, 64, 2e-4, 16, 1)
    assert c["instance_noise"] == 0.1 and c["g_noise"] == 0.1 and c["latent"] == "uniform"
    assert c["run_dir"] == "runs/00000-hdcgan-digits_16" and c["data"] == "data/digits_16"
    assert not (ws / "runs").exists()
    res = run_in_process("train", "dcgan", "--kimg", 1, "--batch", 10, "--augment", "--dry-run", "--json", cwd=ws)
    assert res.json["config"]["steps"] == 100 and res.json["config"]["augment"] == "flip,translate,color"


def test_default_data_none_or_several_is_a_clear_error(ws, tmp_path):
    res = run_cli("train", "dcgan", cwd=tmp_path)
    assert res.rc == 2 and "no dataset" in res.stderr and "gantool prep" in res.stderr
    shutil.copytree(ws / "data", tmp_path / "data")
    assert run_cli("prep", "builtin:digits", "--size", 12, "-q", cwd=tmp_path).rc == 0
    res = run_cli("train", "dcgan", "--dry-run", cwd=tmp_path)
    assert res.rc == 2 and "digits_12" in res.stderr and "digits_16" in res.stderr
    res = run_in_process("train", "dcgan", "--size", 12, "--dry-run", "--json", cwd=tmp_path)
    assert res.rc == 0 and res.json["config"]["size"] == 12


@pytest.mark.parametrize("args, needle", [
    pytest.param(["stylegan"], "unknown variant", marks=pytest.mark.entry_point),
    (["dcgan", "--loss", "wasserstein"], "--loss"),
    (["dcgan", "--batch", 0], "--batch"),
    (["dcgan", "--ema", 1.5], "--ema"),
    (["dcgan", "--latent", "cauchy"], "--latent"),
    (["dcgan", "--steps", 0], "--steps"),
    (["dcgan", "--kimg", -1], "--kimg"),
    (["dcgan", "--steps", 5, "--kimg", 1], "--steps and --kimg"),
    (["dcgan", "--augment-policy", "blur"], "--augment-policy"),
    (["dcgan", "--preset", "cifar"], "--preset"),
    pytest.param(["gan", "--data", "nowhere"], "not a gantool dataset", marks=pytest.mark.entry_point),
    (["--resume", "nowhere"], "not a gantool run"),
    pytest.param([], "VARIANT", marks=pytest.mark.entry_point),
])
def test_bad_input_is_one_line_and_exit_2(ws, cli, args, needle):
    res = cli("train", *args, "--dry-run", cwd=ws)
    assert res.rc == 2, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr, res


def test_run_folder_holds_everything(ws):
    res = run_cli("train", "dcgan", "--steps", 40, "--ckpt-every", 20, "--sample-every", 20, "--ema", 0.99,
                  "--out", "runs/full", *FAST, "--json", cwd=ws)
    assert res.rc == 0, res
    out, run = res.json, ws / "runs/full"
    assert out["ok"] and out["step"] == 40 and out["run_dir"] == "runs/full"
    doc = json.loads((run / "config.json").read_text())
    assert doc["kind"] == "gantool.run" and doc["schema"] == 1 and doc["config"]["ema"] == 0.99
    ck = run / "checkpoints"
    for f in ("ckpt-20.index", "ckpt-40.index", "checkpoint", "generator.keras", "generator_ema.keras",
              "state.json", "best/best.json"):
        assert (ck / f).is_file(), f
    assert json.loads((ck / "state.json").read_text())["step"] == 40
    for f in ("step-0000000.png", "step-0000020.png", "step-0000040.png", "final.png"):
        assert (run / "samples" / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f
    assert (run / "losses.png").read_bytes()[:4] == b"\x89PNG"
    assert list((run / "events").glob("events.out.tfevents.*"))
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    loss_steps = [r["step"] for r in recs if "d_loss" in r]
    assert loss_steps == list(range(5, 41, 5))
    assert all(r["img_per_s"] > 0 and np.isfinite(r["g_loss"]) for r in recs if "d_loss" in r)
    assert [r["step"] for r in recs if "pfd8" in r] == [0, 20, 40]
    # the generator file is self-contained: Keras loads it in safe mode and it makes digits-shaped images
    from tfhelpers import tf
    tf()
    import keras
    g = keras.models.load_model(ck / "generator_ema.keras", safe_mode=True, compile=False)
    assert tuple(g.output_shape[1:]) == (16, 16, 1)
    # resume of a finished run with more steps continues from 40
    res = run_in_process("train", "--resume", run, "--steps", 45, "--json", cwd=ws)  # (the entry point: above)
    assert res.rc == 0 and res.json["start_step"] == 40 and res.json["step"] == 45, res
    res = run_cli("train", "--resume", run, "--batch", 16, cwd=ws)
    assert res.rc == 2 and "--batch cannot change" in res.stderr
    res = run_cli("train", "gan", "--resume", run, cwd=ws)
    assert res.rc == 2 and "is a dcgan run" in res.stderr
    res = run_cli("train", "dcgan", "--out", run, *FAST, cwd=ws)
    assert res.rc == 2 and "--resume" in res.stderr


@pytest.mark.parametrize("variant", ["gan", "hdcgan"])
def test_other_variants_train_from_the_cli(ws, variant):
    res = run_in_process("train", variant, "--steps", 6, "--alt-every", 3, *FAST, "--json", cwd=ws)
    assert res.rc == 0 and res.json["step"] == 6 and np.isfinite(res.json["last"]["d_loss"]), res


def test_dcgan_mnist_preset_trains_at_28_px(tmp_path):
    """The MNIST report's network at its 28 px: a size 8 does not divide (pfd8's 8x8 shrink)."""
    assert run_in_process("prep", "builtin:digits", "--size", 28, "-q", cwd=tmp_path).rc == 0
    res = run_in_process("train", "dcgan", "--preset", "mnist", "--steps", 2, "--batch", 8, "--out", "runs/mnist28",
                         "--json", cwd=tmp_path)
    assert res.rc == 0 and res.json["step"] == 2 and np.isfinite(res.json["pfd8"]), res


def test_xla_flag_compiles_and_trains(ws):
    res = run_in_process("train", "dcgan", "--steps", 2, "--xla", *FAST, "--json", cwd=ws)
    assert res.rc == 0 and res.json["step"] == 2, res


def test_non_finite_loss_stops_with_exit_1_and_keeps_the_last_good_checkpoint(ws):
    res = run_in_process("train", "dcgan", "--steps", 30, "--lr-g", 1e30, "--ckpt-every", 1, "--out", "runs/nan",
                  *FAST, cwd=ws)
    assert res.rc == 1, res
    line = res.stderr.strip().splitlines()[-1]
    assert "non-finite loss at step" in line and "last good checkpoint is step" in line
    bad = int(line.split("non-finite loss at step ")[1].split()[0])
    state = json.loads((ws / "runs/nan/checkpoints/state.json").read_text())
    assert state["step"] == bad - 1
    assert not (ws / f"runs/nan/checkpoints/ckpt-{bad}.index").exists()


@pytest.mark.slow
def test_training_moves_sample_statistics_toward_the_digits(ws):
    """400 steps at 16 px: pfd8 (Frechet distance of 8x8 pixels to the data) falls several
    fold, and a digit classifier trained on the real 8x8 digits finds most classes among the
    samples where the untrained G gives one."""
    res = run_in_process("train", "dcgan", "--steps", 400, "--filters", 16, "--batch", 32, "--ckpt-every", 400,
                  "--out", "runs/learn", "--json", cwd=ws)
    assert res.rc == 0, res
    recs = [json.loads(line) for line in (ws / "runs/learn/metrics.jsonl").read_text().splitlines()]
    pfd = {r["step"]: r["pfd8"] for r in recs if "pfd8" in r}
    assert pfd[400] < 0.3 * pfd[0], pfd

    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from gantool.images import downscale_area, to_uint8
    from gantool.run.config import load_run_config
    from gantool.train.state import build_models
    from tfhelpers import tf
    tf()
    import keras

    digits = load_digits()
    clf = LogisticRegression(max_iter=3000).fit(digits.data, digits.target)
    cfg = load_run_config(ws / "runs/learn")
    z = np.random.default_rng(0).uniform(-1, 1, (500, cfg.z_dim)).astype(np.float32)

    def class_shares(G):
        small = downscale_area(to_uint8(G(z, training=False)), 8).reshape(500, -1) / 255.0 * 16.0
        return np.bincount(clf.predict(small), minlength=10) / 500

    before = class_shares(build_models(cfg)[0])  # the same initial weights the run started from
    after = class_shares(keras.models.load_model(ws / "runs/learn/checkpoints/generator.keras", compile=False))
    assert (before >= 0.02).sum() <= 2
    assert (after >= 0.02).sum() >= 8, after


def test_alt_every_adds_exactly_one_g_and_one_d_update_after_every_nth_step(ws):
    """--alt-every 3 over 7 steps: extra updates after steps 3 and 6, so each optimizer has applied
    7 + 2 updates (its iteration counter in the checkpoint), the step counter stays 7, and the
    weights differ from the same run without it."""
    from tfhelpers import checkpoint_tensors

    def counters(run):
        v = checkpoint_tensors(ws / run / "checkpoints/ckpt-7")
        its = {n: int(x) for n, x in v.items() if n.endswith("iterations/.ATTRIBUTES/VARIABLE_VALUE")}
        assert len(its) == 2, sorted(v)  # G's and D's optimizer
        return its, v

    for run, extra in (("runs/alt0", []), ("runs/alt3", ["--alt-every", 3])):
        res = run_in_process("train", "dcgan", "--steps", 7, *FAST, "--seed", 4, "--ckpt-every", 7, "--sample-every", 0,
                      *extra, "--out", run, "--json", cwd=ws)
        assert res.rc == 0 and res.json["step"] == 7, res
    plain, a = counters("runs/alt0")
    alt, b = counters("runs/alt3")
    assert sorted(plain.values()) == [7, 7] and sorted(alt.values()) == [9, 9], (plain, alt)
    weights = [n for n in a if "iterations" not in n and np.asarray(a[n]).dtype.kind == "f" and np.ndim(a[n]) > 1]
    assert weights and any(not np.array_equal(a[n], b[n]) for n in weights)

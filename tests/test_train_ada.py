"""--augment ada and --subset through the CLI: p rises when D overfits a 16-image subset, stays at 0
when D is not winning, is checkpointed, and a SIGKILLed ADA run on a subset resumes bit-identical."""

import json
import signal

import numpy as np
import pytest

from conftest import run_cli, run_in_process
from gantool.cli import main
from gantool.data.pipeline import StreamPlan, SubsetPlan
from tfhelpers import checkpoint_tensors

# batch 16, interval 4 steps, --ada-kimg 1: p moves by 0.064 per interval
ADA = ["dcgan", "--filters", 8, "--batch", 16, "--augment", "ada", "--ada-kimg", 1, "--sample-every", 0,
       "--seed", 2, "-q", "--json"]
REF = ADA + ["--steps", 16, "--subset", 16, "--ckpt-every", 3, "--log-every", 1, "--keep", 10]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("adaws")
    assert run_in_process("prep", "builtin:digits", "--size", 16, "--shard-size", 700, "-q", cwd=root).rc == 0
    ref = run_in_process("train", *REF, "--out", root / "ref", cwd=root)
    assert ref.rc == 0, ref
    return root


def records(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if "d_loss" in x]


@pytest.mark.parametrize("args, needle", [
    (["dcgan", "--ada-target", 0.5], "--ada-target: only --augment ada uses it"),
    (["gan", "--augment", "--ada-kimg", 10], "--ada-kimg: only --augment ada uses it"),
    (["dcgan", "--augment", "ada", "--augment-policy", "flip"], "--augment-policy: it is the policy of --augment diff"),
    (["dcgan", "--augment", "bogus"], "--augment: must be one of ada, diff, none"),
])
def test_ada_options_without_ada_or_out_of_range_are_refused(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no dataset: the refusal comes before any data is looked at
    assert main(["train", *map(str, args), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_subset_plan_streams_only_its_images_and_resumes_anywhere():
    plan = SubsetPlan([700, 700, 397], seed=4, n=16)
    assert len(set(plan.chosen)) == 16 and plan.chosen.max() < 1797
    starts = np.array([0, 700, 1400])

    def stream(start, n):
        out = []
        for shard, idx in plan.positions(start):
            out += [int(starts[shard] + i) for i in idx]
            if len(out) >= n:
                return out[:n]

    full = stream(0, 64)
    assert set(full) == set(plan.chosen.tolist())
    assert sorted(full[:16]) == sorted(plan.chosen.tolist())  # an epoch visits each chosen image once
    assert stream(21, 43) == full[21:]                          # resume from any image position
    assert SubsetPlan([700, 700, 397], seed=5, n=16).chosen.tolist() != plan.chosen.tolist()
    assert StreamPlan([700, 700, 397], 4).total == 1797


def test_ada_p_rises_when_d_overfits_a_16_image_subset(ws):
    run = ws / "ref"
    cfg = json.loads((run / "config.json").read_text())["config"]
    assert cfg["augment"] == "ada" and cfg["subset"] == 16 and cfg["ada_kimg"] == 1
    recs = records(run)
    ps = [r["ada_p"] for r in recs]
    assert ps[-1] >= 2 * 0.064 - 1e-6, [(r["step"], r["ada_rt"], r["ada_p"]) for r in recs]
    assert all(b >= a - 1e-6 for a, b in zip(ps, ps[1:])) and recs[-1]["ada_rt"] > 0.6
    # p is in the checkpoint, equal to the last logged value
    assert np.isclose(checkpoint_tensors(run / "checkpoints/ckpt-16", save_counter=False)["ada_p/.ATTRIBUTES/VARIABLE_VALUE"], ps[-1])
    assert (run / "losses.png").exists()


def test_ada_p_stays_at_zero_when_d_is_not_winning(ws):
    # the whole dataset and a D that barely learns (lr 1e-5): D(real) stays mostly negative,
    # so even at the fastest speed p never leaves 0
    res = run_in_process("train", *ADA, "--steps", 12, "--lr-d", 1e-5, "--log-every", 4, "--out", ws / "slow", cwd=ws)
    assert res.rc == 0, res
    recs = records(ws / "slow")
    assert all(r["ada_rt"] < 0.6 for r in recs) and all(r["ada_p"] == 0.0 for r in recs), recs


def test_sigkilled_ada_subset_run_resumes_bit_identical(ws):
    run = ws / "killed"
    res = run_cli("train", *REF, "--out", run, cwd=ws, env={"GANTOOL_FAULT": "train.step@5"})
    assert res.rc == -signal.SIGKILL, res  # dies mid-interval: ckpt-3 holds 3 steps of r_t sums
    res = run_in_process("train", "--resume", run, "-q", "--json", cwd=ws)
    assert res.rc == 0 and res.json["start_step"] == 3 and res.json["step"] == 16, res
    a, b = (checkpoint_tensors(p / "checkpoints/ckpt-16", save_counter=False) for p in (ws / "ref", run))
    assert set(a) == set(b) and any("ada_sign_sum" in k for k in a)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("time", "img_per_s", "elapsed")} for r in rs]  # noqa: E731
    assert strip(records(run)) == strip(records(ws / "ref"))


def test_old_run_configs_keep_their_augment_policy(ws):
    from gantool.config import TrainConfig

    d = json.loads((ws / "ref/config.json").read_text())["config"]
    for k in ("ada_target", "ada_kimg", "subset", "map_layers", "ema_kimg"):
        d.pop(k)
    d["augment"] = "flip,translate,color"  # a run folder written before --augment ada existed
    cfg = TrainConfig.from_dict(d).validate()
    assert cfg.augment == "flip,translate,color" and cfg.subset is None

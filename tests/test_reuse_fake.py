"""--reuse-fake: one G forward per step; G's update scores the D update's fake images with the
D that update produced; it is saved with the run, resumes bit-identically, and the combinations
it cannot honour are refused in one line."""

import json

import numpy as np
import pytest

from conftest import copy_digits16, run_cli, run_in_process
from gantool.config import TrainConfig
from test_train_resume import loss_lines
from tfhelpers import checkpoint_tensors

TINY = ["--filters", 4, "--max-filters", 8, "--z-dim", 8, "--batch", 8, "--sample-every", 0, "--log-every", 1,
        "--grid", 2, "-q"]


def cfg(**kw):
    base = dict(variant="dcgan", data="-", run_dir="-", dataset_name="t", size=8, channels=1, steps=4, batch=8,
                filters=4, max_filters=8, z_dim=8, seed=2)
    return TrainConfig(**{**base, **kw}).validate()


def traced_g_forwards(monkeypatch, c, steps=2):
    """(G forwards in the traced train step, its outputs, the state, the real batch)."""
    from gantool.train import step as step_mod
    from gantool.train.state import build_state

    calls = []
    plain = step_mod.Step.g_call
    monkeypatch.setattr(step_mod.Step, "g_call", lambda self, *a: calls.append(1) or plain(self, *a))
    state = build_state(c)
    train_step, _ = step_mod.make_steps(state)
    real = np.random.default_rng(0).integers(0, 256, (c.batch, c.size, c.size, c.channels), dtype=np.uint8)
    out = {k: float(v) for k, v in train_step(real, 1.0).items()}
    for _ in range(steps - 1):  # later calls run the same trace: no new G forward is built
        train_step(real, 1.0)
    return len(calls), out, state, real


@pytest.mark.parametrize("reuse, forwards", [(True, 1), (False, 2)])
def test_g_forward_runs_once_per_step_with_reuse_fake_and_twice_without(monkeypatch, reuse, forwards):
    n, out, state, _ = traced_g_forwards(monkeypatch, cfg(reuse_fake=reuse))
    assert n == forwards, n
    assert int(state.step.numpy()) == 2 and all(np.isfinite(v) for v in out.values())


def test_g_update_scores_the_d_update_fakes_with_the_updated_d(monkeypatch):
    """The step's g_loss equals bce(D_after(G_before(z_D))) with z_D the D update's z, and not
    bce(D_before(...)): G's loss reads D's weights after D's apply_gradients."""
    from gantool.models import losses
    from gantool.train.draws import D_TAG, Draws, step_key
    from gantool.train.state import build_state
    from gantool.train.step import Step

    c = cfg(reuse_fake=True, steps=1, lr_d=0.05)  # a big D step: before and after are far apart
    ref = build_state(c)  # the same seed: the weights before the step
    # the first step's fakes, made as the step makes them: the first draw of the D update's draws
    fake = Step(ref, None, None, None, False, 1, None).fake(c.batch, 1.0, Draws(step_key(c.seed, ref.step, D_TAG), 0, c.batch))
    before = float(losses.g_loss("bce", ref.D(fake, training=True)))
    n, out, state, _ = traced_g_forwards(monkeypatch, c, steps=1)
    after = float(losses.g_loss("bce", state.D(fake, training=True)))
    assert n == 1
    assert abs(out["g_loss"] - after) < 1e-5, (out, after)
    assert abs(out["g_loss"] - before) > 1e-3, (out, before)


@pytest.fixture(scope="module")
def ws(tmp_path_factory, digits16):
    root = tmp_path_factory.mktemp("reusews")
    copy_digits16(digits16, root / "data/digits_16")
    return root


def trained(run, step):
    """{checkpoint name: value} of G's and D's trainable weights (their optimizers' lists)."""
    v = checkpoint_tensors(run / "checkpoints" / f"ckpt-{step}")
    return {k: x for k, x in v.items() if "/_trainable_variables/" in k}


@pytest.fixture(scope="module")
def three_steps(ws):
    """runs/plain and runs/reuse: 3 steps of the same tiny dcgan without and with --reuse-fake."""
    for run, extra in (("runs/plain", []), ("runs/reuse", ["--reuse-fake"])):
        res = run_in_process("train", "dcgan", "--steps", 3, *TINY, "--ckpt-every", 1, *extra, "--out", run,
                             "--json", cwd=ws)
        assert res.rc == 0 and res.json["step"] == 3, res
    return ws


def test_reuse_fake_trains_is_saved_and_differs_from_the_plain_step(three_steps):
    ws = three_steps
    assert json.loads((ws / "runs/reuse/config.json").read_text())["config"]["reuse_fake"] is True
    assert json.loads((ws / "runs/plain/config.json").read_text())["config"]["reuse_fake"] is False
    first, last = trained(ws / "runs/reuse", 1), trained(ws / "runs/reuse", 3)
    assert {k.split("/")[0] for k in last} == {"opt_g", "opt_d"} and first.keys() == last.keys()
    moved = [k for k in last if not np.array_equal(first[k], last[k])]
    assert sorted(moved) == sorted(last)  # every weight of G and D moves on with the flag
    plain = trained(ws / "runs/plain", 3)
    assert plain.keys() == last.keys()
    for net in ("opt_g", "opt_d"):
        assert any(not np.array_equal(plain[k], last[k]) for k in last if k.startswith(net)), net


def test_reuse_fake_on_two_mirrored_replicas_matches_one_device(three_steps):
    ws = three_steps
    res = run_cli("train", "dcgan", "--steps", 3, *TINY, "--ckpt-every", 3, "--reuse-fake", "--strategy", "mirrored",
                  "--out", "runs/mirrored", "--json", cwd=ws, env={"GANTOOL_CPU_DEVICES": "2"})
    assert res.rc == 0 and res.json["replicas"] == 2, res
    one, two = trained(ws / "runs/reuse", 3), trained(ws / "runs/mirrored", 3)
    assert one.keys() == two.keys()
    assert max(float(np.max(np.abs(one[k] - two[k]))) for k in one) < 1e-4


def test_sigkilled_reuse_fake_run_resumes_bit_identical(ws):
    args = ["dcgan", "--steps", 6, *TINY, "--ckpt-every", 2, "--ema", 0.9, "--augment", "--instance-noise", 0.1,
            "--g-noise", 0.1, "--reuse-fake", "--seed", 5]
    assert run_in_process("train", *args, "--out", "runs/whole", cwd=ws).rc == 0
    killed = ws / "runs/killed"
    res = run_cli("train", *args, "--out", killed, cwd=ws, env={"GANTOOL_FAULT": "train.step@4"})
    assert res.rc == -9, res  # SIGKILLed after step 4, before ckpt-4: ckpt-2 is the last
    res = run_in_process("train", "--resume", killed, "-q", "--json", cwd=ws)
    assert res.rc == 0 and res.json["start_step"] == 2 and res.json["step"] == 6, res
    a, b = (checkpoint_tensors(p / "checkpoints/ckpt-6") for p in (ws / "runs/whole", killed))
    assert a.keys() == b.keys() and len(a) > 20
    # every variable (checkpoint_tensors() leaves out the object-graph proto, which names Python objects)
    assert not [k for k in a if not np.array_equal(a[k], b[k])]
    assert loss_lines(ws / "runs/whole") == loss_lines(killed)


@pytest.mark.parametrize("args, needle", [
    (["dcgan", "--grad-accum", 2], "--reuse-fake: not with --grad-accum 2"),
    (["dcgan", "--alt-every", 3], "--reuse-fake: not with --alt-every"),
    (["stylegan2"], "--reuse-fake: stylegan2 does not use it"),
])
def test_combinations_it_cannot_honour_are_refused_in_one_line(ws, args, needle):
    res = run_in_process("train", *args, "--reuse-fake", "--steps", 1, "--batch", 8, "-q", "--out", "runs/bad",
                         cwd=ws)
    lines = res.stderr.strip().splitlines()
    assert res.rc == 2 and len(lines) == 1 and needle in lines[0], res
    assert not (ws / "runs/bad").exists()


def test_a_resume_cannot_add_grad_accum_to_a_reuse_fake_run(ws):
    run = ws / "runs/short"
    assert run_in_process("train", "dcgan", "--steps", 1, *TINY, "--reuse-fake", "--out", run, cwd=ws).rc == 0
    res = run_in_process("train", "--resume", run, "--steps", 2, "--grad-accum", 2, "-q", cwd=ws)
    lines = res.stderr.strip().splitlines()
    assert res.rc == 2 and len(lines) == 1 and "--reuse-fake: not with --grad-accum 2" in lines[0], res


def test_old_run_configs_load_without_reuse_fake():
    d = cfg().to_dict()
    d.pop("reuse_fake")
    assert TrainConfig.from_dict(d).validate().reuse_fake is False

"""pggan: the growth plan, the custom layers, fade-in identities, and real progressive runs."""

import json
import signal

import numpy as np
import pytest

from conftest import run_cli, run_in_process
from gantool.errors import UsageError
from gantool.train import progressive as pg
from tfhelpers import same_state_in_one_of_two_tries, tf
from test_models import cfg


# ---------------------------------------------------------------- the plan (pure)

def test_plan_orders_stages_and_phases_with_their_batches():
    table = pg.batch_table(16, "4:8,8:4,16:2")
    phases = pg.plan(16, 1.0, 2.0, table)
    assert [(p.res, p.fading, p.batch, p.start, p.end) for p in phases] == [
        (4, False, 8, 0, 2000), (8, True, 4, 2000, 3000), (8, False, 4, 3000, 5000),
        (16, True, 2, 5000, 6000), (16, False, 2, 6000, 8000)]
    assert pg.locate(phases, 0).res == 4 and pg.locate(phases, 2999).fading and pg.locate(phases, 8000) is None
    # --kimg cuts the plan short, or stretches its last stabilise phase
    assert [p.end for p in pg.plan(16, 1.0, 2.0, table, total_kimg=5.5)] == [2000, 3000, 5000, 5500]
    assert pg.plan(16, 1.0, 2.0, table, total_kimg=20)[-1].end == 20000


def test_alpha_rises_linearly_in_a_fade_and_is_1_otherwise():
    fade = pg.Phase(1, 1, 8, True, 4, 1000, 2000)
    alphas = [pg.alpha_at(fade, i) for i in range(1000, 2000, 50)]
    assert alphas[0] == 0.0 and all(b > a for a, b in zip(alphas, alphas[1:])) and alphas[-1] == pytest.approx(0.95)
    assert pg.alpha_at(pg.Phase(2, 1, 8, False, 4, 2000, 3000), 2100) == 1.0


def test_batch_table_defaults_and_errors():
    assert pg.batch_table(64, "") == {4: 128, 8: 128, 16: 64, 32: 32, 64: 16}
    assert pg.batch_table(32, "8:10") == {4: 128, 8: 10, 16: 10, 32: 10}
    assert pg.batch_table(16, "", default_batch=6) == {4: 6, 8: 6, 16: 6}
    for bad in ("4-128", "3:8", "8:0", "x:y"):
        with pytest.raises(UsageError, match="--batch-schedule"):
            pg.parse_batch_schedule(bad)
    assert pg.default_phase_kimg(30000) == 800 and pg.default_phase_kimg(10**6) == 800
    assert pg.default_phase_kimg(1797) == pytest.approx(47.92) and pg.default_phase_kimg(10) == 1.0


def test_total_steps_counts_the_overshooting_last_step_of_each_phase():
    phases = pg.plan(16, 0.5, 0.5, {4: 32, 8: 16, 16: 8})
    assert pg.total_steps(phases) == 16 + 31 + 31 + 62 + 63


# ---------------------------------------------------------------- layers

def test_pixelnorm_and_minibatch_stddev_by_hand():
    tf()
    from gantool.models.layers import MinibatchStdDev, PixelNorm

    x = np.random.default_rng(0).normal(size=(8, 3, 3, 5)).astype(np.float32)
    y = np.asarray(PixelNorm()(x))
    np.testing.assert_allclose(np.mean(y ** 2, axis=-1), 1.0, rtol=1e-5)
    out = np.asarray(MinibatchStdDev(group_size=4)(x))
    assert out.shape == (8, 3, 3, 6)
    np.testing.assert_array_equal(out[..., :5], x)
    for i in range(8):  # image i is grouped with its neighbours: 0-3 and 4-7 (reshape to (2, 4, ...))
        group = x[i // 4 * 4:i // 4 * 4 + 4]
        want = np.mean(np.sqrt(group.var(axis=0) + 1e-8))
        np.testing.assert_allclose(out[i, ..., 5], want, rtol=1e-5)
    odd = np.asarray(MinibatchStdDev(group_size=4)(x[:6]))  # 6 images: groups of 3
    for i, group in ((0, x[0:3]), (5, x[3:6])):
        np.testing.assert_allclose(odd[i, 0, 0, 5], np.mean(np.sqrt(group.var(axis=0) + 1e-8)), rtol=1e-5)


def test_equalized_layers_scale_weights_at_run_time():
    tf()
    from gantool.models.layers import EqualizedConv2D, EqualizedDense

    x = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
    d = EqualizedDense(3, gain=2.0)
    y = np.asarray(d(x))
    np.testing.assert_allclose(y, x @ (np.asarray(d.kernel) * 2.0 / np.sqrt(4)), rtol=1e-5)
    assert abs(np.asarray(d.kernel).std() - 1.0) < 0.6  # stored at unit scale
    img = np.random.default_rng(2).normal(size=(1, 5, 5, 2)).astype(np.float32)
    c = EqualizedConv2D(4, 1, gain=1.0)
    np.testing.assert_allclose(np.asarray(c(img)), img @ (np.asarray(c.kernel)[0, 0] / np.sqrt(2)), rtol=1e-5)


def test_custom_layers_round_trip_in_a_saved_stage_model(tmp_path):
    tf()
    import keras

    from gantool.models.pggan import ProgressiveNets

    nets = ProgressiveNets(cfg("pggan", size=16, channels=3, z_dim=8))
    z = np.random.default_rng(3).normal(size=(4, 8)).astype(np.float32)
    a = np.full((4, 1), 0.3, np.float32)
    for model, x in ((nets.generator(2, fading=True), [z, a]), (nets.discriminator(1), np.ones((4, 8, 8, 3), np.float32))):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        back = keras.models.load_model(path, safe_mode=True, compile=False)
        np.testing.assert_array_equal(np.asarray(back(x)), np.asarray(model(x)))
        kinds = {type(layer).__name__ for layer in back.layers}
        assert kinds & {"PixelNorm", "Fade", "EqualizedConv2D", "MinibatchStdDev"}


def test_fade_at_alpha_0_is_the_upsampled_old_stage_and_at_1_the_new_one():
    tf()
    from gantool.models.pggan import ProgressiveNets

    nets = ProgressiveNets(cfg("pggan", size=16, z_dim=8))
    z = np.random.default_rng(4).normal(size=(4, 8)).astype(np.float32)
    fading = nets.generator(2, fading=True)
    old = np.asarray(nets.generator(1)(z))
    up = old.repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_allclose(np.asarray(fading([z, np.zeros((4, 1), np.float32)])), up, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fading([z, np.ones((4, 1), np.float32)])), np.asarray(nets.generator(2)(z)), atol=1e-6)
    x = np.random.default_rng(5).uniform(-1, 1, (4, 16, 16, 1)).astype(np.float32)
    d_fade = nets.discriminator(2, fading=True)
    pooled = x.reshape(4, 8, 2, 8, 2, 1).mean(axis=(2, 4))
    np.testing.assert_allclose(np.asarray(d_fade([x, np.zeros((4, 1), np.float32)])),
                               np.asarray(nets.discriminator(1)(pooled)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(d_fade([x, np.ones((4, 1), np.float32)])),
                               np.asarray(nets.discriminator(2)(x)), rtol=1e-4, atol=1e-5)


def test_target_1024_builds_and_takes_a_step_with_a_small_batch():
    tf()
    from test_models import one_step

    c = cfg("pggan", size=1024, channels=3, filters=1, max_filters=8, batch=2, z_dim=8)
    state, out, _, _ = one_step(c)
    assert state.G.output_shape[1:] == (1024, 1024, 3) and all(np.isfinite(v) for v in out.values())


# ---------------------------------------------------------------- real runs

ARGS = ["pggan", "--filters", 4, "--max-filters", 16, "--z-dim", 16, "--fade-kimg", 0.25, "--stable-kimg", 0.25,
        "--batch-schedule", "4:32,8:16,16:8", "--ema", 0.99, "--sample-every", 0, "--seed", 1, "-q"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("pgws")
    assert run_in_process("prep", "builtin:digits", "--size", 32, "-q", cwd=root).rc == 0
    return root


KILL_AT = 22  # a step inside the 8 px fade (steps 8-23), after the killed run's checkpoint at 20


COMMON = [*ARGS, "--target", 16]


@pytest.fixture(scope="module")
def whole(ws):
    """One uninterrupted 102-step run, shared: the growth test reads it, the resume test compares
    against its checkpoint at step 25 (how often a run checkpoints does not change its weights).
    In a process of its own, as the killed run and its resume are: TensorFlow's oneDNN kernels are
    cached per process, and one this worker built for an earlier test may sum in another order."""
    res = run_cli("train", *COMMON, "--ckpt-every", 25, "--keep", 8, "--log-every", 5, "--out", "runs/pw",
                  "--json", cwd=ws, timeout=600)
    assert res.rc == 0, res
    return ws / "runs/pw"


@pytest.mark.slow
def test_progressive_run_grows_in_order_and_keeps_every_stage(whole):
    run = whole
    c = json.loads((run / "config.json").read_text())["config"]
    assert (c["size"], c["data_size"], c["batch_schedule"], c["steps"]) == (16, 32, "4:32,8:16,16:8", 102)
    recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r for r in recs if "d_loss" in r]
    order = []
    for r in losses:
        key = (r["res"], r["phase"])
        if not order or order[-1] != key:
            order.append(key)
    assert order == [(4, "stable"), (8, "fade"), (8, "stable"), (16, "fade"), (16, "stable")]
    for a, b in zip(losses, losses[1:]):  # images per step = the planned batch of b's resolution
        if (a["res"], a["phase"]) == (b["res"], b["phase"]):
            assert round((b["kimg"] - a["kimg"]) * 1000 / (b["step"] - a["step"])) == {4: 32, 8: 16, 16: 8}[b["res"]]
    for res_, phase in ((8, "fade"), (16, "fade")):
        al = [r["alpha"] for r in losses if (r["res"], r["phase"]) == (res_, phase)]
        assert all(y > x for x, y in zip(al, al[1:])) and 0 <= al[0] < 0.5 and 0.5 < al[-1] < 1
    assert all(r["alpha"] == 1.0 for r in losses if r["phase"] == "stable")
    tf()
    import keras

    import gantool.models.layers  # noqa: F401  (registers the custom layers for loading)

    for r in (4, 8, 16):
        assert (run / f"samples/stage-{r}px.png").read_bytes()[:4] == b"\x89PNG"
        g = keras.models.load_model(run / f"checkpoints/generator_ema-{r}px.keras", safe_mode=True, compile=False)
        assert g(np.zeros((2, 16), np.float32)).shape == (2, r, r, 1)


def kill_in_the_fade_and_resume(ws, killed):
    """SIGKILL at step 22 (fault point train.step), inside the 8 px fade (steps 8-23); the newest
    checkpoint is step 20, also inside the fade, so the resumed run starts blending, finishes the
    fade and enters the 8 px stable phase at step 24; it stops at step 25."""
    r = run_cli("train", *COMMON, "--ckpt-every", 10, "--log-every", 1, "--out", killed, cwd=ws, timeout=600,
                env={"GANTOOL_FAULT": f"train.step@{KILL_AT}"})
    assert r.rc == -signal.SIGKILL, r
    res = run_cli("train", "--resume", killed, "--kimg", 0.52, "--json", cwd=ws, timeout=600)  # 0.52 kimg: step 25
    assert res.rc == 0 and res.json["start_step"] == 20 and res.json["step"] == 25, res
    recs = [json.loads(x) for x in (killed / "metrics.jsonl").read_text().splitlines()]
    at_resume = [r for r in recs if r["step"] == res.json["start_step"] and "d_loss" in r]
    assert at_resume and all(r["res"] == 8 and r["phase"] == "fade" and 0 < r["alpha"] < 1 for r in at_resume), at_resume
    after = sorted((r for r in recs if r["step"] > 20 and "d_loss" in r), key=lambda r: r["step"])
    assert after[0]["phase"] == "fade" and 0 < after[0]["alpha"] < 1, after[0]
    assert after[-1]["step"] == 25 and after[-1]["phase"] == "stable" and after[-1]["alpha"] == 1.0, after[-1]
    return killed / "checkpoints/ckpt-25"


@pytest.mark.slow
def test_resume_in_the_middle_of_a_fade_is_bit_identical(ws, whole):
    """A run killed inside the 8 px fade and resumed (kill_in_the_fade_and_resume) holds at step 25
    the uninterrupted run's state, bit for bit. The runs checkpoint at different steps (every 10
    and every 25), so the count of saves is not compared. A second try, if needed, compares a
    fresh uninterrupted run to step 25 with a fresh killed-and-resumed one
    (tfhelpers.same_state_in_one_of_two_tries says why)."""
    def attempt(i):
        if i == 0:
            return whole / "checkpoints/ckpt-25", kill_in_the_fade_and_resume(ws, ws / "runs/pk")
        again = run_cli("train", *COMMON, "--kimg", 0.52, "--ckpt-every", 25, "--out", "runs/pw2", cwd=ws, timeout=600)
        assert again.rc == 0, again
        return ws / "runs/pw2/checkpoints/ckpt-25", kill_in_the_fade_and_resume(ws, ws / "runs/pk2")

    same_state_in_one_of_two_tries(attempt)


def test_pggan_cli_refusals(ws):
    for args, needle in ((["--target", 24], "4*2^k"), (["--target", 64], "digits_32 (32 px)"), (["--steps", 10], "--kimg"),
                         (["--spectral-norm"], "equalized"), (["--batch-schedule", "4-8"], "RES:BATCH")):
        res = run_in_process("train", "pggan", *args, "--dry-run", cwd=ws)
        assert res.rc == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1, res
    res = run_in_process("train", "dcgan", "--fade-kimg", 3, "--dry-run", cwd=ws)
    assert res.rc == 2 and "only pggan grows" in res.stderr

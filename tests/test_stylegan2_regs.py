"""StyleGAN2's training pieces (gantool.models.stylegan2_regs) against their formulas."""

import numpy as np
import pytest

from tfhelpers import tf


def draws(n, seed=1):
    from gantool.train.draws import Draws, step_key

    return Draws(step_key(seed, 0, 2), 0, n)


def test_auto_gamma_ema_and_lazy_adam_follow_the_stylegan2_ada_formulas():
    from gantool.models.stylegan2_regs import ema_beta, ema_kimg_auto, lazy_adam, r1_gamma_auto

    assert r1_gamma_auto(32, 32) == pytest.approx(0.0002 * 1024 / 32)
    assert r1_gamma_auto(256, 16) == pytest.approx(0.8192)
    assert ema_kimg_auto(32) == 10.0
    beta = ema_beta(32, 10**9, 10.0)
    assert beta ** (10_000 / 32) == pytest.approx(0.5)             # half-life of 10 kimg
    assert ema_beta(32, 640, 10.0) == pytest.approx(0.5)           # ramp-up: half-life 0.05 * 640 = 32 images
    assert ema_beta(32, 0, 10.0) == 0.0                             # first step copies G
    assert ema_beta(32, 0, 10.0, rampup=None) == pytest.approx(beta)
    lr, b1, b2 = lazy_adam(0.0025, 0.0, 0.99, 16)
    assert (lr, b1, b2) == pytest.approx((0.0025 * 16 / 17, 0.0, 0.99 ** (16 / 17)))
    t = tf()
    assert float(ema_beta(32, t.constant(640.0), 10.0)) == pytest.approx(0.5)


def test_r1_penalty_is_the_squared_input_gradient_norm_per_image():
    t = tf()
    from gantool.models.stylegan2_regs import r1_penalty

    c = np.random.default_rng(0).normal(size=(1, 4, 4, 3)).astype(np.float32)
    D = lambda x: t.reduce_sum(x * c, axis=[1, 2, 3])[:, None] ** 2  # noqa: E731  grad = 2 s c
    real = t.constant(np.random.default_rng(1).normal(size=(3, 4, 4, 3)).astype(np.float32))
    s = np.sum(np.asarray(real) * c, axis=(1, 2, 3))
    np.testing.assert_allclose(np.asarray(r1_penalty(D, real)), 4 * s ** 2 * np.sum(c ** 2), rtol=1e-4)


def test_path_length_matches_the_jacobian_formula_for_a_linear_synthesis():
    t = tf()
    from gantool.models.stylegan2_regs import path_length

    rng = np.random.default_rng(2)
    A = rng.normal(size=(3 * 5, 4 * 4 * 1)).astype(np.float32)   # ws (N, 3, 5) -> img (N, 4, 4, 1)
    synthesis = lambda ws, training=False: t.reshape(t.reshape(ws, [-1, 15]) @ A, [-1, 4, 4, 1])  # noqa: E731
    ws = t.constant(rng.normal(size=(6, 3, 5)).astype(np.float32))
    penalty, lengths, mean = path_length(synthesis, ws, draws(6), 0.5)
    y = np.asarray(draws(6).normal([6, 4, 4, 1])) / 4.0           # the same draw, y / sqrt(H W)
    g = (y.reshape(6, 16) @ A.T).reshape(6, 3, 5)
    ref = np.sqrt((g ** 2).sum(axis=2).mean(axis=1))
    np.testing.assert_allclose(np.asarray(lengths), ref, rtol=1e-4)
    assert float(mean) == pytest.approx(0.5 + 0.01 * (ref.mean() - 0.5), rel=1e-5)
    np.testing.assert_allclose(np.asarray(penalty), (ref - float(mean)) ** 2, rtol=1e-3, atol=1e-6)


def test_path_length_penalty_reaches_the_synthesis_weights_and_mixing_switches_styles():
    t = tf()
    from gantool.models.stylegan2 import build
    from gantool.models.stylegan2_regs import mixed_ws, path_length

    G, _, parts = build(8, 3, z_dim=16, w_dim=16, map_layers=2, filters=8, max_filters=16)
    z = t.constant(np.random.default_rng(3).normal(size=(64, 16)).astype(np.float32))
    ws = mixed_ws(parts.mapping, z, parts.num_ws, draws(64), prob=0.9)
    w1 = np.asarray(parts.mapping(z))
    same = np.all(np.isclose(np.asarray(ws), w1[:, None]), axis=2)  # (N, num_ws): style from z1?
    firsts = same.sum(axis=1)
    assert same[:, 0].all() and all(same[i, :k].all() and not same[i, k:].any() for i, k in enumerate(firsts))
    assert 0.75 < np.mean(firsts < parts.num_ws) < 1.0                # ~0.9 of the rows mix
    assert np.all(mixed_ws(parts.mapping, z, parts.num_ws, draws(64), prob=0.0) == w1[:, None])
    with t.GradientTape() as tape:
        penalty, _, _ = path_length(parts.synthesis, ws[:8], draws(8), 0.0)
        loss = t.reduce_mean(penalty)
    grads = tape.gradient(loss, parts.synthesis.trainable_variables)
    named = {v.path: g for v, g in zip(parts.synthesis.trainable_variables, grads)}
    kernels = [g for p, g in named.items() if "conv" in p and p.endswith("kernel")]
    assert kernels and all(g is not None and np.isfinite(np.asarray(g)).all() for g in kernels)
    assert any(np.abs(np.asarray(g)).max() > 0 for g in kernels)


def test_style_mixing_and_path_length_weight_options_reach_the_step():
    """--style-mixing 0: every fake is made from one w; --pl-weight W scales the lazy term by
    W * 4; --pl-weight 0: a due step computes no path length (pl 0, pl_mean kept). Eager steps of
    a tiny 8 px model (the traced ones: tests/test_stylegan2_train.py)."""
    t = tf()
    from test_models import cfg

    from gantool.train.state import build_state
    from gantool.train.step import Step

    def step_of(**kw):
        c = cfg("stylegan2", size=8, filters=4, max_filters=8, z_dim=8, map_layers=1, batch=4, latent="normal", **kw)
        state = build_state(c)
        return state, Step(state, None, None, None, False, 1, None)

    state, step = step_of(style_mixing=0.0, pl_weight=0.5)
    z = t.constant(np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32))
    mapping, synthesis = state.G.get_layer("mapping"), state.G.get_layer("synthesis")
    plain = synthesis(t.repeat(mapping(z)[:, None], step.recipe.num_ws, axis=1))
    np.testing.assert_array_equal(np.asarray(step.recipe.generate(z, draws(4), False)), np.asarray(plain))
    term, pen, _ = step.recipe.g_penalty(4, draws(4))
    assert float(pen) > 0 and float(term) == pytest.approx(float(pen) * 0.5 * 4, rel=1e-6)

    state, step = step_of(pl_weight=0.0)
    real = np.random.default_rng(1).integers(0, 256, (4, 8, 8, 1), dtype=np.uint8)
    out = step.train_step(t.constant(real), 1.0)  # step 0: R1 and path length both due
    assert float(out["r1"]) > 0 and float(out["pl"]) == 0 and float(out["pl_mean"]) == 0
    assert not step.recipe.has_g_penalty
    from gantool.errors import UsageError

    for bad, flag in (({"style_mixing": 1.5}, "--style-mixing"), ({"pl_weight": -1.0}, "--pl-weight")):
        with pytest.raises(UsageError, match=flag):
            cfg("stylegan2", size=8, latent="normal", **bad)

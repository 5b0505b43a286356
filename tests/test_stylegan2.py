"""StyleGAN2 networks (gantool.models.stylegan2): layer round-trips, demodulation, truncation,
style mixing, shapes, noise strengths and one real training step. Tiny: z 16, filters 8."""

import math

import numpy as np
import pytest

from tfhelpers import tf

TINY = dict(z_dim=16, w_dim=16, map_layers=2, filters=8, max_filters=16)


def tiny(size=8, channels=3):
    from gantool.models.stylegan2 import build

    return build(size, channels, **TINY)


def zs(n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, TINY["z_dim"])).astype(np.float32)


def round_trip(model, x, tmp_path):
    import keras

    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    back = keras.models.load_model(path, safe_mode=True, compile=False)
    np.testing.assert_array_equal(np.asarray(back(x)), np.asarray(model(x)))
    return back


LAYERS = ["ScaledLeakyReLU", "EqualizedLinear", "ModulatedConv2D", "ModulatedConv2D-rgb", "NoiseInjection",
          "ConstantInput", "Resample2D-up", "Resample2D-down", "BroadcastW", "WAvgTracker"]


def one_layer_model(kind):
    import keras

    from gantool.models import stylegan2_layers as sl

    rng = np.random.default_rng(1)
    img, ws = keras.Input((8, 8, 3)), keras.Input((3, 5))
    vec = keras.Input((5,))
    if kind == "ScaledLeakyReLU":
        return keras.Model(img, sl.ScaledLeakyReLU(0.3, gain=1.5)(img)), rng.normal(size=(2, 8, 8, 3))
    if kind == "EqualizedLinear":
        return keras.Model(vec, sl.EqualizedLinear(4, lr_mul=0.01, bias_init=0.5)(vec)), rng.normal(size=(2, 5))
    if kind.startswith("ModulatedConv2D"):
        rgb = kind.endswith("rgb")
        layer = sl.ModulatedConv2D(3 if rgb else 4, 1 if rgb else 3, w_index=2, demodulate=not rgb)
        return keras.Model([img, ws], layer([img, ws])), [rng.normal(size=(2, 8, 8, 3)), rng.normal(size=(2, 3, 5))]
    if kind == "NoiseInjection":
        layer = sl.NoiseInjection(seed=3)
        model = keras.Model(img, layer(img))
        layer.strength.assign(np.zeros(3, np.float32))  # noise is random per call: compare at strength 0
        return model, rng.normal(size=(2, 8, 8, 3))
    if kind == "ConstantInput":
        return keras.Model(ws, sl.ConstantInput(6)(ws)), rng.normal(size=(2, 3, 5))
    if kind.startswith("Resample2D"):
        return keras.Model(img, sl.Resample2D(up=kind.endswith("up"))(img)), rng.normal(size=(2, 8, 8, 3))
    if kind == "BroadcastW":
        return keras.Model(vec, sl.BroadcastW(4)(vec)), rng.normal(size=(2, 5))
    return keras.Model(vec, sl.WAvgTracker(0.9)(vec)), rng.normal(size=(2, 5))


@pytest.mark.parametrize("kind", LAYERS)
def test_each_custom_layer_round_trips_through_a_keras_file(kind, tmp_path):
    tf()
    model, x = one_layer_model(kind)
    x = [np.asarray(a, np.float32) for a in x] if isinstance(x, list) else np.asarray(x, np.float32)
    back = round_trip(model, x, tmp_path)
    assert {type(la).__name__ for la in back.layers} >= {kind.split("-")[0]}
    for a, b in zip(model.weights, back.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_whole_generator_and_discriminator_round_trip(tmp_path):
    G, D, _ = tiny(16, 1)
    z = zs()
    round_trip(G, z, tmp_path)
    round_trip(D, np.asarray(G(z)), tmp_path)


def _fir_1d(x, up):
    """Literal upfirdn with the [1, 3, 3, 1] taps along axis 1 of a (rows, n) array."""
    k = np.array([1.0, 3.0, 3.0, 1.0]) / 8.0
    n = x.shape[1]
    if up:
        z = np.zeros((x.shape[0], 2 * n))
        z[:, ::2] = x
        return np.stack([np.convolve(r, 2.0 * k)[1:1 + 2 * n] for r in z])
    return np.stack([np.convolve(r, k)[2::2][:n // 2] for r in x])


@pytest.mark.parametrize("up", [True, False])
def test_resampling_is_the_separable_binomial_upfirdn(up):
    tf()
    from gantool.models.stylegan2_layers import Resample2D

    x = np.random.default_rng(6).normal(size=(1, 8, 8, 2)).astype(np.float32)
    y = np.asarray(Resample2D(up=up)(x))
    for c in range(2):
        ref = _fir_1d(_fir_1d(x[0, :, :, c], up).T, up).T
        np.testing.assert_allclose(y[0, :, :, c], ref, rtol=1e-5, atol=1e-6)


def _modconv_std(demodulate):
    from gantool.models.stylegan2_layers import ModulatedConv2D

    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 24, 24, 32)).astype(np.float32)
    ws = (3.0 * rng.normal(size=(16, 1, 64))).astype(np.float32)  # styles far from 1
    y = np.asarray(ModulatedConv2D(32, 3, demodulate=demodulate)([x, ws]))
    return y[:, 1:-1, 1:-1].std(axis=(0, 1, 2))  # interior pixels (zero padding at the border)


def test_demodulation_keeps_unit_output_variance_and_plain_modulation_does_not():
    tf()
    with_demod = _modconv_std(True)
    assert np.all(np.abs(with_demod - 1.0) < 0.1), with_demod
    assert abs(_modconv_std(False).mean() - 1.0) > 0.5


def test_truncation_psi0_gives_w_avg_exactly_psi1_leaves_ws_unchanged():
    tf()
    from gantool.models.stylegan2 import truncate

    rng = np.random.default_rng(3)
    ws = rng.normal(size=(4, 6, 16)).astype(np.float32)
    w_avg = rng.normal(size=(16,)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(truncate(ws, w_avg, 0.0)), np.broadcast_to(w_avg, ws.shape))
    np.testing.assert_array_equal(np.asarray(truncate(ws, w_avg, 1.0)), ws)
    np.testing.assert_allclose(np.asarray(truncate(ws, w_avg, 0.7)), w_avg + 0.7 * (ws - w_avg), rtol=1e-5, atol=1e-6)
    half = np.asarray(truncate(ws, w_avg, 0.0, cutoff=2))
    np.testing.assert_array_equal(half[:, :2], np.broadcast_to(w_avg, (4, 2, 16)))
    np.testing.assert_array_equal(half[:, 2:], ws[:, 2:])


def test_style_mixing_takes_the_first_cutoff_ws_from_one_and_the_rest_from_the_other():
    tf()
    from gantool.models.stylegan2 import mix_styles

    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 3, 6, 8)).astype(np.float32)
    for cutoff in (0, 2, 6):
        m = np.asarray(mix_styles(a, b, cutoff))
        np.testing.assert_array_equal(m[:, :cutoff], a[:, :cutoff])
        np.testing.assert_array_equal(m[:, cutoff:], b[:, cutoff:])
    per_row = np.asarray(mix_styles(a, b, np.array([1, 4, 5])))
    for i, c in enumerate((1, 4, 5)):
        np.testing.assert_array_equal(per_row[i], np.concatenate([a[i, :c], b[i, c:]]))


@pytest.mark.parametrize("size", [8, 16, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_g_and_d_build_with_the_expected_shapes(size, channels):
    G, D, parts = tiny(size, channels)
    z = zs(3)
    img = np.asarray(G(z))
    assert img.shape == (3, size, size, channels) and np.isfinite(img).all()
    assert np.asarray(D(img)).shape == (3, 1)
    assert parts.num_ws == 2 * int(math.log2(size)) - 2
    w = parts.mapping(z)
    assert tuple(w.shape) == (3, TINY["w_dim"])
    ws = np.repeat(np.asarray(w)[:, None], parts.num_ws, axis=1)
    assert parts.synthesis(ws).shape == (3, size, size, channels)


def test_channel_widths_follow_the_documented_rule():
    from gantool.models.stylegan2 import channels_at

    assert [channels_at(r, 32) for r in (4, 8, 16, 32)] == [256, 128, 64, 32]
    assert [channels_at(r, 256, 64, 512) for r in (4, 32, 64, 128, 256)] == [512, 512, 256, 128, 64]


def test_sizes_that_are_not_4_times_a_power_of_two_are_refused():
    from gantool.models.stylegan2 import build

    for size in (4, 12, 28):
        with pytest.raises(ValueError, match="4\\*2\\^k"):
            build(size, 3, **TINY)


def test_noise_strength_starts_at_zero_so_noise_changes_nothing_until_it_is_set():
    from gantool.models.stylegan2 import reseed_noise
    from gantool.models.stylegan2_layers import NoiseInjection

    G, _, parts = tiny(8, 3)
    z = zs()
    reseed_noise(G, 1)
    a = np.asarray(G(z))
    reseed_noise(G, 2)
    np.testing.assert_array_equal(np.asarray(G(z)), a)
    noise = [la for la in parts.synthesis.layers if isinstance(la, NoiseInjection)]
    assert noise and all(np.all(np.asarray(la.strength) == 0) for la in noise)
    for la in noise:
        la.strength.assign(np.full(la.strength.shape, 0.5, np.float32))
    reseed_noise(G, 1)
    b1 = np.asarray(G(z))
    reseed_noise(G, 2)
    assert np.abs(np.asarray(G(z)) - b1).max() > 1e-3
    reseed_noise(G, 1)
    np.testing.assert_array_equal(np.asarray(G(z)), b1)  # same seed, same noise


def test_const_and_none_noise_modes_are_deterministic(tmp_path):
    from gantool.models.stylegan2 import set_noise_mode
    from gantool.models.stylegan2_layers import NoiseInjection

    G, _, parts = tiny(8, 3)
    for la in parts.synthesis.layers:
        if isinstance(la, NoiseInjection):
            la.strength.assign(np.full(la.strength.shape, 0.5, np.float32))
    z = zs()
    set_noise_mode(G, "none")
    quiet = np.asarray(G(z))
    np.testing.assert_array_equal(np.asarray(G(z)), quiet)
    set_noise_mode(G, "const")
    fixed = np.asarray(G(z))
    np.testing.assert_array_equal(np.asarray(G(z)), fixed)
    assert np.abs(fixed - quiet).max() > 1e-3
    back = round_trip(G, z, tmp_path)  # the mode and the stored noise travel with the .keras file
    assert {la.mode for la in back.get_layer("synthesis").layers if isinstance(la, NoiseInjection)} == {"const"}
    with pytest.raises(ValueError, match="noise mode"):
        set_noise_mode(G, "loud")


def test_w_avg_moves_toward_the_batch_mean_only_in_training():
    G, _, parts = tiny(8, 1)
    z = zs(8)
    parts.mapping(z, training=False)
    assert np.all(np.asarray(parts.w_avg) == 0)
    w = np.asarray(parts.mapping(z, training=True))
    np.testing.assert_allclose(np.asarray(parts.w_avg), 0.005 * w.mean(axis=0), rtol=1e-4, atol=1e-7)
    assert parts.w_avg is G.get_layer("mapping").get_layer("w_avg").w_avg


def test_one_non_saturating_training_step_changes_g_and_d():
    t = tf()
    import keras

    G, D, _ = tiny(8, 3)
    real = np.random.default_rng(5).uniform(-1, 1, (4, 8, 8, 3)).astype(np.float32)
    z = t.constant(zs())
    opt_g, opt_d = keras.optimizers.Adam(2e-3, 0.0, 0.99), keras.optimizers.Adam(2e-3, 0.0, 0.99)
    before_g = [np.asarray(v).copy() for v in G.trainable_variables]
    before_d = [np.asarray(v).copy() for v in D.trainable_variables]
    with t.GradientTape() as tape:
        d_loss = t.reduce_mean(t.nn.softplus(D(G(z, training=True), training=True))
                               + t.nn.softplus(-D(real, training=True)))
    opt_d.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
    with t.GradientTape() as tape:
        g_loss = t.reduce_mean(t.nn.softplus(-D(G(z, training=True), training=True)))
    grads = tape.gradient(g_loss, G.trainable_variables)
    assert all(g is not None for g in grads)
    opt_g.apply_gradients(zip(grads, G.trainable_variables))
    moved = lambda vs, old: sum(not np.array_equal(np.asarray(v), o) for v, o in zip(vs, old))  # noqa: E731
    assert moved(D.trainable_variables, before_d) == len(before_d)
    # every G weight moves, the noise strengths too (d loss / d strength = noise * upstream)
    assert moved(G.trainable_variables, before_g) == len(before_g)
    assert np.isfinite(float(d_loss)) and np.isfinite(float(g_loss))

"""Every registered variant and loss: builds, one real step gives finite losses, shapes agree,
.keras round trip. Parametrised over the registries, so a new variant is tested on arrival."""

import dataclasses

import numpy as np
import pytest

from gantool.config import TrainConfig
from gantool.errors import UsageError
from gantool.models import VARIANTS
from gantool.models.base import factor_size
from gantool.models.losses import LOSSES
from tfhelpers import tf


def cfg(variant="dcgan", size=16, channels=1, **kw):
    base = dict(variant=variant, data="-", run_dir="-", dataset_name="t", size=size, channels=channels,
                steps=10, batch=4, filters=4, max_filters=16, fade_kimg=1.0, stable_kimg=1.0)
    base.update(kw)
    return TrainConfig(**base).validate()


def one_step(c):
    from gantool.train.state import build_state
    from gantool.train.step import make_steps

    state = build_state(c)
    train_step, alt_step = make_steps(state)
    real = np.random.default_rng(0).integers(0, 256, (c.batch, c.size, c.size, c.channels), dtype=np.uint8)
    out = {k: float(v) for k, v in train_step(real, 1.0).items()}
    return state, out, alt_step, real


# variants trained by the engine's plain step; a variant with its own training recipe (stylegan2:
# normal z only, lazy regularisers, extra logged values, linear output) is trained and round-tripped
# in its own tests (tests/test_stylegan2_train.py, tests/test_stylegan2.py)
PLAIN = [v for v in VARIANTS.names() if VARIANTS.get(v).recipe is None]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("variant", PLAIN)
def test_variant_and_loss_one_step_is_finite(variant, loss):
    tf()
    # 8 px: the smallest size every variant builds at (one trace per pair; pggan's 16 px block is
    # trained in tests/test_pggan.py)
    c = cfg(variant, size=8, loss=loss, r1=1.0 if loss == "bce" else 0.0, augment="flip,translate,color", ema=0.9)
    state, out, _, _ = one_step(c)
    assert set(out) == {"d_loss", "g_loss", "real_score", "fake_score"}
    assert all(np.isfinite(v) for v in out.values()), out
    assert int(state.step.numpy()) == 1
    assert tuple(state.G.output_shape[1:]) == tuple(state.D.input_shape[1:]) == (8, 8, 1)
    ema = state.G_ema.trainable_variables[0].numpy()
    assert np.isfinite(ema).all() and not np.array_equal(ema, state.G.trainable_variables[0].numpy())


@pytest.mark.parametrize("variant", PLAIN)
def test_variant_alt_step_runs_and_leaves_the_step_counter_alone(variant):
    """--alt-every's extra G then D update: the same loss code as the step above in the other
    order, so once per variant (with wgan-gp, the loss with the most parts: its gradient penalty
    and drift) rather than once per loss; tests/test_train_cli.py checks what it changes."""
    tf()
    from gantool.train.state import build_state
    from gantool.train.step import make_steps

    c = cfg(variant, size=8, loss="wgan-gp", augment="flip,translate,color", ema=0.9)
    state = build_state(c)
    _, alt_step = make_steps(state)
    real = np.random.default_rng(0).integers(0, 256, (c.batch, 8, 8, 1), dtype=np.uint8)
    g0 = state.G.trainable_variables[0].numpy()
    alt = {k: float(v) for k, v in alt_step(real, 1.0).items()}
    assert all(np.isfinite(v) for v in alt.values()), alt
    assert int(state.step.numpy()) == 0 and not np.array_equal(g0, state.G.trainable_variables[0].numpy())


@pytest.mark.parametrize("variant", PLAIN)
def test_variant_keras_round_trip(variant, tmp_path):
    t = tf()
    import keras

    from gantool.train.state import build_models

    c = cfg(variant, channels=3, spectral_norm=not VARIANTS.get(variant).progressive)  # pggan: equalized lr instead
    G, D = build_models(c)
    z = np.random.default_rng(1).uniform(-1, 1, (3, c.z_dim)).astype(np.float32)
    img = np.asarray(G(z, training=False))
    for model, x in ((G, z), (D, img)):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        back = keras.models.load_model(path, safe_mode=True, compile=False)
        np.testing.assert_array_equal(np.asarray(back(x, training=False)), np.asarray(model(x, training=False)))
    if not VARIANTS.get(variant).progressive:  # pggan's toRGB is linear, as in the paper (clipped when saved)
        assert img.min() >= -1 and img.max() <= 1 and t is not None


@pytest.mark.parametrize("size", [12, 20, 28, 32, 48, 64, 192, 256, 512, 1024])
def test_dcgan_builds_at_every_base_times_power_of_two(size):
    tf()
    from gantool.train.state import build_models

    G, D = build_models(cfg("dcgan", size=size, channels=3, filters=2, max_filters=8))
    assert tuple(G.output_shape[1:]) == (size, size, 3) == tuple(D.input_shape[1:])
    assert tuple(D.output_shape[1:]) == (1,)


def test_factor_size_and_refusals():
    assert [factor_size(s) for s in (28, 32, 192, 1024, 20)] == [(7, 2), (4, 3), (3, 6), (4, 8), (5, 2)]
    for bad in (4, 7, 22, 100, 33):
        with pytest.raises(UsageError):
            factor_size(bad)
    with pytest.raises(UsageError, match="VARIANT"):
        cfg("stylegan")
    with pytest.raises(UsageError, match="too large"):
        cfg("gan", size=256)


def test_reference_dcgan_64_has_the_reference_parameter_counts():
    tf()
    from gantool.train.state import build_models

    G, D = build_models(cfg("dcgan", size=64, channels=3, filters=64, max_filters=512))
    count = lambda m: int(sum(np.prod(v.shape) for v in m.trainable_variables))  # noqa: E731
    # PyTorch's DCGAN example (nz 100, ngf = ndf = 64, nc 3, no biases) has exactly these
    assert (count(G), count(D)) == (3_576_704, 2_765_568)


def test_mnist_preset_reproduces_the_report_tables():
    tf()
    from gantool.train.state import build_models

    G, D = build_models(cfg("dcgan", size=28, preset="mnist"))
    kinds = lambda m, k: [layer for layer in m.layers if type(layer).__name__ == k]  # noqa: E731
    dense, = kinds(G, "Dense")
    assert dense.units == 7 * 7 * 128
    convs = kinds(G, "Conv2DTranspose")
    assert [(c.filters, c.kernel_size, c.strides) for c in convs] == [(64, (5, 5), (2, 2)), (1, (5, 5), (2, 2))]
    assert len(kinds(G, "BatchNormalization")) == 3 and G.output_shape[1:] == (28, 28, 1)
    dconv = kinds(D, "Conv2D")
    assert [(c.filters, c.kernel_size, c.strides) for c in dconv] == [(64, (5, 5), (2, 2)), (128, (5, 5), (2, 2))]
    assert len(kinds(D, "ELU")) == 2 and len(kinds(D, "BatchNormalization")) == 3
    with pytest.raises(UsageError, match="multiple of 4"):
        cfg("dcgan", size=30, preset="mnist")
    _, out, _, _ = one_step(dataclasses.replace(cfg("dcgan", size=28, preset="mnist"), batch=4))
    assert all(np.isfinite(v) for v in out.values())


def test_hdcgan_uses_selu_and_its_report_defaults():
    tf()
    from gantool.train.state import build_models

    spec = VARIANTS.get("hdcgan")
    assert spec.defaults["batch"] == 32 and spec.defaults["lr_g"] == 2e-4 and spec.defaults["filters"] == 64
    assert spec.defaults["instance_noise"] > 0 and spec.defaults["g_noise"] > 0
    G, D = build_models(cfg("hdcgan"))
    acts = [layer.get_config().get("activation") for m in (G, D) for layer in m.layers
            if type(layer).__name__ == "Activation"]
    assert acts.count("selu") >= 3 and "relu" not in acts


def _d_scores_of_a_scaled_batch(d_bias: bool):
    """D's training-mode scores of a batch and of the same batch at 0.7 times the contrast."""
    from gantool.models import VARIANTS

    _, d = VARIANTS.get("dcgan").build(cfg(size=16, d_bias=d_bias))
    convs = [layer for layer in d.layers if layer.name.startswith("conv2d")]
    for conv in convs:  # weights of a trained D's size: activations far above BatchNorm's epsilon
        conv.kernel.assign(conv.kernel * 25.0)
    first = convs[0]
    if d_bias:
        first.bias.assign(np.linspace(-0.3, 0.3, first.bias.shape[0]).astype("float32"))  # as training moves it
    x = np.random.default_rng(1).uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    return np.asarray(d(x, training=True)), np.asarray(d(0.7 * x, training=True))


def test_dcgan_d_is_blind_to_a_fake_batchs_contrast_without_d_bias_and_sees_it_with_it():
    """Bias-free conv -> LeakyReLU -> bias-free conv -> BatchNorm over the batch: scaling the batch
    by 0.7 changes nothing D reports (why G's digits drifted to grey); --d-bias breaks that."""
    plain, scaled = _d_scores_of_a_scaled_batch(False)
    np.testing.assert_allclose(scaled, plain, rtol=1e-3, atol=1e-4)
    plain, scaled = _d_scores_of_a_scaled_batch(True)
    assert np.abs(scaled - plain).max() > 1e-2


def test_out_gain_stretches_and_clips_g_output_and_survives_a_keras_round_trip(tmp_path):
    import keras

    from gantool.models import VARIANTS
    from gantool.run.generator import load_generator

    g, _ = VARIANTS.get("dcgan").build(cfg(size=16, out_gain=1.5))
    tanh = keras.Model(g.input, g.get_layer(index=len(g.layers) - 2).output)
    z = np.random.default_rng(2).uniform(-1, 1, (64, 100)).astype("float32")
    last = [layer for layer in g.layers if layer.name.startswith("conv2d_transpose")][-1]
    small = np.abs(np.asarray(tanh(z))).max()  # an untrained G's outputs are near 0 (tanh ~ linear)
    last.kernel.assign(last.kernel * (3.0 / small))  # a trained G's range: some beyond atanh(1/1.5)
    t, out = np.asarray(tanh(z)), np.asarray(g(z, training=False))
    assert (np.abs(t) < 1 / 1.5).any() and (t < -1 / 1.5).any() and (t > 1 / 1.5).any()
    np.testing.assert_allclose(out, np.clip(1.5 * t, -1, 1), atol=1e-6)
    assert out.min() == -1.0 and out.max() == 1.0  # black and white, which a plain tanh never reaches
    g.save(tmp_path / "g.keras")
    back = load_generator(tmp_path / "g.keras").model
    np.testing.assert_array_equal(np.asarray(back(z, training=False)), out)

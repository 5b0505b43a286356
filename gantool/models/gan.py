"""gan: the vanilla fully connected GAN of the MNIST report (Goodfellow et al. 2014 style).

G: z -> dense 4f -> dense 8f -> dense 16f (LeakyReLU 0.2 each) -> dense H*W*C -> tanh -> image.
D: image -> flatten -> dense 8f -> dense 4f (LeakyReLU 0.2 each) -> dense 1 raw score.
With the default --filters 64 that is G 256-512-1024, D 512-256. No convolutions, no batch norm
(so --kernel and --max-filters are refused).
"""

from __future__ import annotations

from gantool.errors import UsageError
from gantool.models.base import VARIANTS, ModelSpec, init, maybe_sn


def check(size: int, cfg) -> None:
    if size > 128:
        raise UsageError(f"gan is fully connected; size {size} is too large (<= 128; use dcgan)")


def build(cfg):
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    f, hw = cfg.filters, (cfg.size, cfg.size, cfg.channels)
    z = keras.Input((cfg.z_dim,), name="z")
    x = z
    for units in (4 * f, 8 * f, 16 * f):
        x = layers.LeakyReLU(negative_slope=0.2)(layers.Dense(units, kernel_initializer=init())(x))
    x = layers.Dense(hw[0] * hw[1] * hw[2], kernel_initializer=init())(x)
    g = keras.Model(z, layers.Reshape(hw)(layers.Activation("tanh", dtype="float32")(x)), name="generator")

    img = keras.Input(hw, name="image")
    y = layers.Flatten()(img)
    for units in (8 * f, 4 * f):
        y = layers.LeakyReLU(negative_slope=0.2)(maybe_sn(layers.Dense(units, kernel_initializer=init()), cfg.spectral_norm)(y))
    out = maybe_sn(layers.Dense(1, kernel_initializer=init()), cfg.spectral_norm)(y)
    d = keras.Model(img, layers.Activation("linear", dtype="float32")(out), name="discriminator")
    return g, d


VARIANTS.register("gan")(ModelSpec(
    name="gan",
    summary="vanilla fully connected GAN (the MNIST report's baseline)",
    build=build,
    check=check,
    defaults={"batch": 64, "filters": 64, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5},
    honours=frozenset({"filters", "spectral_norm"}),
    why_not={"kernel": "it has no convolutions", "max_filters": "its widths are fixed multiples of --filters",
             "d_bias": "its layers all have biases", "out_gain": "its output is a plain tanh"},
))

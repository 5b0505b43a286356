"""dcgan: Radford et al. 2016, at any size base*2^k (base 3, 4, 5 or 7).

G: z -> dense to base x base x f0 -> BN -> ReLU, then k-1 x [ConvT stride 2 -> BN -> ReLU],
   then ConvT stride 2 to C channels -> tanh.
D: the mirror: conv stride 2 -> LeakyReLU(0.2) (no BN on the first layer), then
   [conv stride 2 -> BN -> LeakyReLU] down to base x base, then dense -> 1 raw score.
Channels double towards the bottom from --filters at the top, capped at --max-filters; at
64 px with --filters 64 this is the reference 512-256-128-64 DCGAN, without biases as in the
common PyTorch example (3,576,704 parameters in G, 2,765,568 in D).

Two options (default off, so the reference net is unchanged), for G and D built here (dcgan and
hdcgan): --d-bias puts a bias on D's first convolution. Without it, D is blind to the contrast of
a fake batch: scaling every fake by s > 0 scales the bias-free conv and the LeakyReLU by s, and
the next BatchNorm, which normalises the fake batch on its own, divides s out again; on the digits
G's output drifted to grey-on-grey, which D could not see. --out-gain K makes G's output
clip(K * tanh(x), -1, 1) (layers.GainClip), so black and white are reached at finite x.

--preset mnist: the MNIST report's tables (004, Tables 2 and 3): G: linear to (size/4)^2 x 128,
BN, ReLU; ConvT 5x5/2 to 64, BN, ReLU; ConvT 5x5/2 to C, BN, tanh. D: conv 5x5/2 64, BN, ELU;
conv 5x5/2 128, BN, ELU; linear to 1, BN, then the loss's sigmoid. BatchNorm on every layer,
as the tables say; with BN on its final score D must see real and fake in one batch, so the
preset declares joint_d_batch and the engine scores them jointly (separately, the DCGAN recipe,
otherwise). The tables fix every width and kernel: --filters, --max-filters and --kernel are
refused with the preset.
"""

from __future__ import annotations

from gantool.errors import UsageError
from gantool.models.base import (VARIANTS, ModelSpec, Preset, activation, batchnorm, factor_size, filters_at, init,
                                 maybe_sn, synchronized)

def check(size: int, cfg) -> None:
    factor_size(size)


def check_mnist(size: int, cfg) -> None:
    if size % 4 or size < 8:
        raise UsageError(f"--preset mnist: the size must be a multiple of 4 (28 for MNIST), got {size}")


def conv_generator(cfg, act: str = "relu", name: str = "generator"):
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    base, k = factor_size(cfg.size)
    sync = synchronized(cfg)
    f = [filters_at(i, k, cfg.filters, cfg.max_filters) for i in range(k)]
    ks = cfg.kernel
    z = keras.Input((cfg.z_dim,), name="z")
    x = layers.Dense(base * base * f[0], use_bias=False, kernel_initializer=init())(z)
    x = layers.Reshape((base, base, f[0]))(x)
    x = activation(act)(batchnorm(sync)(x))
    for i in range(1, k):
        x = layers.Conv2DTranspose(f[i], ks, strides=2, padding="same", use_bias=False, kernel_initializer=init())(x)
        x = activation(act)(batchnorm(sync)(x))
    x = layers.Conv2DTranspose(cfg.channels, ks, strides=2, padding="same", use_bias=False, kernel_initializer=init())(x)
    out = layers.Activation("tanh", dtype="float32")(x)
    if cfg.out_gain != 1:
        from gantool.models.layers import GainClip  # noqa: PLC0415

        out = GainClip(cfg.out_gain, dtype="float32")(out)
    return keras.Model(z, out, name=name)


def conv_discriminator(cfg, act: str = "lrelu", name: str = "discriminator"):
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    base, k = factor_size(cfg.size)
    sync = synchronized(cfg)
    sn = cfg.spectral_norm
    f = [filters_at(i, k, cfg.filters, cfg.max_filters) for i in range(k)]
    ks = cfg.kernel
    img = keras.Input((cfg.size, cfg.size, cfg.channels), name="image")
    first = layers.Conv2D(f[k - 1], ks, strides=2, padding="same", use_bias=cfg.d_bias, kernel_initializer=init())
    x = maybe_sn(first, sn)(img)
    x = activation(act)(x)
    for i in range(k - 2, -1, -1):
        x = maybe_sn(layers.Conv2D(f[i], ks, strides=2, padding="same", use_bias=False, kernel_initializer=init()), sn)(x)
        x = activation(act)(batchnorm(sync)(x))
    x = layers.Flatten()(x)
    out = maybe_sn(layers.Dense(1, use_bias=False, kernel_initializer=init()), sn)(x)
    return keras.Model(img, layers.Activation("linear", dtype="float32")(out), name=name)


def mnist_generator(cfg):
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    s = cfg.size // 4
    sync = synchronized(cfg)
    z = keras.Input((cfg.z_dim,), name="z")
    x = layers.Dense(s * s * 128, kernel_initializer=init())(z)
    x = layers.Reshape((s, s, 128))(x)
    x = layers.ReLU()(batchnorm(sync)(x))
    x = layers.Conv2DTranspose(64, 5, strides=2, padding="same", kernel_initializer=init())(x)
    x = layers.ReLU()(batchnorm(sync)(x))
    x = layers.Conv2DTranspose(cfg.channels, 5, strides=2, padding="same", kernel_initializer=init())(x)
    out = layers.Activation("tanh", dtype="float32")(batchnorm(sync)(x))
    return keras.Model(z, out, name="generator")


def mnist_discriminator(cfg):
    import keras  # noqa: PLC0415
    from keras import layers  # noqa: PLC0415

    sn, sync = cfg.spectral_norm, synchronized(cfg)
    img = keras.Input((cfg.size, cfg.size, cfg.channels), name="image")
    x = maybe_sn(layers.Conv2D(64, 5, strides=2, padding="same", kernel_initializer=init()), sn)(img)
    x = layers.ELU()(batchnorm(sync)(x))
    x = maybe_sn(layers.Conv2D(128, 5, strides=2, padding="same", kernel_initializer=init()), sn)(x)
    x = layers.ELU()(batchnorm(sync)(x))
    x = maybe_sn(layers.Dense(1, kernel_initializer=init()), sn)(layers.Flatten()(x))
    out = layers.Activation("linear", dtype="float32")(batchnorm(sync)(x))
    return keras.Model(img, out, name="discriminator")


def build(cfg):
    return conv_generator(cfg, "relu"), conv_discriminator(cfg, "lrelu")


def build_mnist(cfg):
    return mnist_generator(cfg), mnist_discriminator(cfg)


VARIANTS.register("dcgan")(ModelSpec(
    name="dcgan",
    summary="Radford et al. DCGAN at any size base*2^k (28, 32, 64, 192, 256, 512, 1024, ...)",
    build=build,
    check=check,
    defaults={"batch": 64, "filters": 64, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "kernel": 4},
    honours=frozenset({"filters", "max_filters", "kernel", "spectral_norm", "d_bias", "out_gain"}),
    presets={"mnist": Preset(
        name="mnist",
        summary="the MNIST report's DCGAN tables (5x5 kernels, 128/64 maps in G, ELU in D, BN on every layer)",
        build=build_mnist,
        check=check_mnist,
        honours=frozenset({"spectral_norm"}),
        why_not="the preset's layers are the MNIST report's tables: 5x5 kernels, 64/128 maps",
        joint_d_batch=True,  # BatchNorm on D's final score: real and fake must share D's batch
    )},
))

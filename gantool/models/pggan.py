"""pggan: progressive growing (Karras et al. 2018), as the PGGAN report trained it.

Resolutions 4 * 2^i for i = 0..L (4x4 up to the target). Per level i:
  G block: (i = 0) PixelNorm(z) -> EqualizedDense to 4x4xC -> LReLU -> PN -> EqConv3x3 -> LReLU -> PN;
           (i > 0) nearest upsample x2 -> [EqConv3x3 -> LReLU(0.2) -> PixelNorm] x 2.
  toRGB:   EqConv1x1 to the image channels (linear).
  D block: (i > 0) [EqConv3x3 -> LReLU] x 2 -> 2x2 average pool;
           (i = 0) MinibatchStdDev -> EqConv3x3 -> LReLU -> dense C -> LReLU -> dense 1.
  fromRGB: EqConv1x1 -> LReLU.
No batch norm anywhere. Channels at resolution r: min(--max-filters, --filters * 256 / r), i.e.
the paper's 512 up to 32 px, 256 at 64, 128 at 128, 64 at 256, 32 at 512, 16 at 1024 with the
defaults (--filters 64 = the channels at 256 px).

`ProgressiveNets` owns the weighted layers of every level once; `generator(level, fading)` and
`discriminator(level, fading)` wire them into plain functional models for one stage. While
fading in level i, G = Fade(upsample(toRGB[i-1](h)), toRGB[i](block[i](h)), alpha) and D mirrors it
(average-pooled input through fromRGB[i-1]); alpha is a second model input.
"""

from __future__ import annotations

import math

from gantool.errors import UsageError
from gantool.models.base import VARIANTS, ModelSpec, precision


def levels_for(target: int) -> int:
    k = int(round(math.log2(target / 4))) if target >= 4 else -1
    if k < 1 or 4 * 2 ** k != target:
        raise UsageError(f"--target: pggan grows 4x4 -> 8x8 -> ... so the target must be 4*2^k >= 8 "
                         f"(8, 16, 32, ..., 1024), got {target}")
    return k


def channels_at(res: int, cfg) -> int:
    return max(1, min(cfg.max_filters, cfg.filters * 256 // res))


def check(size: int, cfg) -> None:
    levels_for(size)
    if getattr(cfg, "spectral_norm", False):
        raise UsageError("--spectral-norm: pggan uses the equalized learning rate instead; drop the flag")


class ProgressiveNets:
    def __init__(self, cfg, discriminator: bool = True):
        with precision(cfg):
            self._create(cfg, discriminator)

    def _create(self, cfg, discriminator: bool) -> None:
        from gantool.models.layers import EqualizedConv2D, EqualizedDense  # noqa: PLC0415

        self.cfg = cfg
        self.L = levels_for(cfg.size)
        res = [4 * 2 ** i for i in range(self.L + 1)]
        self.res = res
        nf = [channels_at(r, cfg) for r in res]
        self.g_blocks = [[EqualizedDense(16 * nf[0], gain=math.sqrt(2) / 4), EqualizedConv2D(nf[0], 3)]]
        self.g_blocks += [[EqualizedConv2D(nf[i], 3), EqualizedConv2D(nf[i], 3)] for i in range(1, self.L + 1)]
        self.to_rgb = [EqualizedConv2D(cfg.channels, 1, gain=1.0) for _ in res]
        self.nf = nf
        self.d_blocks, self.from_rgb = [], []
        if discriminator:
            self.from_rgb = [EqualizedConv2D(nf[i], 1) for i in range(self.L + 1)]
            self.d_blocks = [[EqualizedConv2D(nf[0], 3), EqualizedDense(nf[0]), EqualizedDense(1, gain=1.0)]]
            self.d_blocks += [[EqualizedConv2D(nf[i], 3), EqualizedConv2D(nf[i - 1], 3)] for i in range(1, self.L + 1)]

    # -- weighted layers, for checkpoints and optimizers
    def g_layers(self) -> list:
        return [layer for block in self.g_blocks for layer in block] + list(self.to_rgb)

    def d_layers(self) -> list:
        return [layer for block in self.d_blocks for layer in block] + list(self.from_rgb)

    # -- wiring
    def _g_block(self, i, x):
        from keras import layers  # noqa: PLC0415

        from gantool.models.layers import PixelNorm  # noqa: PLC0415

        lrelu = lambda t: layers.LeakyReLU(negative_slope=0.2)(t)  # noqa: E731
        if i == 0:
            dense, conv = self.g_blocks[0]
            x = layers.Reshape((4, 4, self.nf[0]))(dense(PixelNorm()(x)))
            x = PixelNorm()(lrelu(x))
            return PixelNorm()(lrelu(conv(x)))
        c1, c2 = self.g_blocks[i]
        x = layers.UpSampling2D(2, interpolation="nearest")(x)
        x = PixelNorm()(lrelu(c1(x)))
        return PixelNorm()(lrelu(c2(x)))

    def generator(self, level: int, fading: bool = False, name: str | None = None):
        with precision(self.cfg):
            return self._generator(level, fading, name)

    def _generator(self, level: int, fading: bool, name: str | None):
        import keras  # noqa: PLC0415
        from keras import layers  # noqa: PLC0415

        from gantool.models.layers import Fade  # noqa: PLC0415

        z = keras.Input((self.cfg.z_dim,), name="z")
        inputs = [z]
        h = z
        last = level - 1 if fading else level
        for i in range(last + 1):
            h = self._g_block(i, h)
        if fading:
            alpha = keras.Input((1,), name="alpha")
            inputs.append(alpha)
            old = layers.UpSampling2D(2, interpolation="nearest")(self.to_rgb[level - 1](h))
            new = self.to_rgb[level](self._g_block(level, h))
            out = Fade()([old, new, alpha])
        else:
            out = self.to_rgb[level](h)
        out = layers.Activation("linear", dtype="float32")(out)
        tag = f"{self.res[level]}px" + ("_fade" if fading else "")
        return keras.Model(inputs if fading else z, out, name=name or f"generator_{tag}")

    def _d_block(self, i, x):
        from keras import layers  # noqa: PLC0415

        from gantool.models.layers import MinibatchStdDev  # noqa: PLC0415

        lrelu = lambda t: layers.LeakyReLU(negative_slope=0.2)(t)  # noqa: E731
        if i == 0:
            conv, dense, out = self.d_blocks[0]
            x = lrelu(conv(MinibatchStdDev()(x)))
            x = lrelu(dense(layers.Flatten()(x)))
            return out(x)
        c1, c2 = self.d_blocks[i]
        x = lrelu(c2(lrelu(c1(x))))
        return layers.AveragePooling2D(2)(x)

    def discriminator(self, level: int, fading: bool = False, name: str | None = None):
        with precision(self.cfg):
            return self._discriminator(level, fading, name)

    def _discriminator(self, level: int, fading: bool, name: str | None):
        import keras  # noqa: PLC0415
        from keras import layers  # noqa: PLC0415

        from gantool.models.layers import Fade  # noqa: PLC0415

        lrelu = lambda t: layers.LeakyReLU(negative_slope=0.2)(t)  # noqa: E731
        r = self.res[level]
        img = keras.Input((r, r, self.cfg.channels), name="image")
        h = self._d_block(level, lrelu(self.from_rgb[level](img)))
        inputs = [img]
        if fading:
            alpha = keras.Input((1,), name="alpha")
            inputs.append(alpha)
            old = lrelu(self.from_rgb[level - 1](layers.AveragePooling2D(2)(img)))
            h = Fade()([old, h, alpha])
        for i in range(level - 1, -1, -1):
            h = self._d_block(i, h)
        out = layers.Activation("linear", dtype="float32")(h)
        tag = f"{r}px" + ("_fade" if fading else "")
        return keras.Model(inputs if fading else img, out, name=name or f"discriminator_{tag}")


def build(cfg):
    """The target-resolution stage (alpha = 1), the interface every variant shares."""
    nets = ProgressiveNets(cfg)
    return nets.generator(nets.L), nets.discriminator(nets.L)


VARIANTS.register("pggan")(ModelSpec(
    name="pggan",
    summary="progressive growing GAN (Karras et al. 2018): 4x4 -> target with fade-in",
    build=build,
    check=check,
    defaults={"batch": 16, "filters": 64, "max_filters": 512, "z_dim": 512, "latent": "normal", "loss": "wgan-gp",
              "lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.0, "beta2": 0.99},
    honours=frozenset({"filters", "max_filters"}),
    why_not={"kernel": "its convolutions are 3x3 and 1x1, as in the paper",
             "spectral_norm": "pggan uses the equalized learning rate instead",
             "d_bias": "all its layers have biases", "out_gain": "its output is linear, as in the paper"},
    options={"fade_kimg": "only {owner} grows; {variant} trains at one size",
             "stable_kimg": "only {owner} grows; {variant} trains at one size"},
    progressive=True,
))

"""stylegan2: the StyleGAN2 networks (Karras et al. 2020, config F), in Keras 3.

Generator G(z) = synthesis(broadcast(mapping(z))):
  mapping   z (z_dim, N(0, 1)) -> PixelNorm -> `map_layers` x [EqualizedLinear(w_dim, lr_mul 0.01)
            -> lrelu * sqrt 2] -> WAvgTracker (moving mean of w, decay 0.995, training mode only)
            -> w (w_dim);
  synthesis ws (N, num_ws, w_dim), num_ws = 2 * log2(size) - 2. 4x4: learned constant ->
            ModulatedConv 3x3 (ws[0]) -> noise -> lrelu; toRGB (ws[1]). Each resolution r = 8..size,
            block k: upsample x2 -> ModulatedConv 3x3 (ws[2k-1]) -> noise -> lrelu -> ModulatedConv 3x3
            (ws[2k]) -> noise -> lrelu; image = upsample(image) + toRGB (ws[2k+1]) (skip
            architecture). Up/down-sampling filter: the [1, 3, 3, 1] binomial low-pass (Resample2D:
            zero insertion + blur when upsampling, blur + every second pixel when downsampling);
            feature maps are upsampled before the 3x3 modulated convolution (the paper fuses a
            transposed convolution with the blur; the result spans the same functions).
            There is no tanh: outputs are linear and land in about [-1, 1] because the real images
            do (as in the paper); samplers clip.
Discriminator D (residual): fromRGB (1x1) at the top resolution; per block r > 4: conv 3x3 (nf(r))
  -> conv 3x3 (nf(r/2)) -> downsample, plus a skip: downsample -> 1x1 conv (nf(r/2), linear); out =
  (main + skip) / sqrt 2 (the downsampling sits before the second conv's 3x3 work in the paper's
  strided form; here the feature map is blurred+decimated and then convolved, 4x cheaper). At 4x4:
  minibatch stddev (group 4, 1 feature) -> conv 3x3 (nf(4)) -> dense nf(4) -> dense 1 (raw score).
Equalized learning rate throughout; every activation is lrelu(0.2) * sqrt 2.

Channels at resolution r: nf(r) = min(max_filters, filters * size / r), i.e. `filters` at the
output resolution, doubling per halving, capped. The paper's 256 px config ('paper256') is
filters 64, max_filters 512; its 1024 px config F is filters 32, max_filters 512. Defaults here
(filters 32, max_filters 256) give 32/64/128/256 channels at 32/16/8/4 px for 32 px images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

FILTERS, MAX_FILTERS = 32, 256


def levels(size: int) -> int:
    """size = 4 * 2^L, L >= 1; -> L (ValueError otherwise)."""
    k = int(round(math.log2(size / 4))) if size >= 4 else -1
    if k < 1 or 4 * 2 ** k != size:
        raise ValueError(f"stylegan2 needs a square size 4*2^k >= 8 (8, 16, 32, ..., 1024), got {size}")
    return k


def num_ws(size: int) -> int:
    return 2 * levels(size) + 2


def channels_at(res: int, size: int, filters: int = FILTERS, max_filters: int = MAX_FILTERS) -> int:
    return max(1, int(min(max_filters, filters * size // res)))


@dataclass
class Parts:
    mapping: Any        # keras.Model z (N, z_dim) -> w (N, w_dim); holds the WAvgTracker
    synthesis: Any      # keras.Model ws (N, num_ws, w_dim) -> image (N, H, W, C)
    num_ws: int
    tracker: Any        # the WAvgTracker layer (tracker.w_avg: non-trainable variable, (w_dim,))

    @property
    def w_avg(self):
        return self.tracker.w_avg


def truncate(ws, w_avg, psi, cutoff: int | None = None):
    """Truncation trick: psi * ws + (1 - psi) * w_avg (psi = 1 returns ws, psi = 0 w_avg, exactly);
    with `cutoff`, only ws[:, :cutoff] are truncated (the coarse styles)."""
    from keras import ops  # noqa: PLC0415

    ws = ops.convert_to_tensor(ws)
    psi = ops.cast(psi, ws.dtype)
    t = psi * ws + (1.0 - psi) * ops.cast(w_avg, ws.dtype)
    if cutoff is None:
        return t
    keep = ops.arange(ws.shape[1])[None, :, None] < cutoff
    return ops.where(keep, t, ws)


def mix_styles(ws1, ws2, cutoff):
    """ws1[:, :cutoff] followed by ws2[:, cutoff:]; cutoff an int, a scalar tensor or one per row (N,)."""
    from keras import ops  # noqa: PLC0415

    ws1 = ops.convert_to_tensor(ws1)
    c = ops.reshape(ops.cast(cutoff, "int32"), (-1, 1, 1))
    first = ops.arange(ws1.shape[1], dtype="int32")[None, :, None] < c
    return ops.where(first, ws1, ops.convert_to_tensor(ws2, ws1.dtype))


def reseed_noise(model, seed: int | Any) -> None:
    """Set every NoiseInjection's generator from one seed (layer i gets (seed, i)), so a step's
    noise can be a pure function of the run's seed and step."""
    from keras import ops  # noqa: PLC0415

    from gantool.models.stylegan2_layers import NoiseInjection  # noqa: PLC0415

    layers = [la for la in _walk(model) if isinstance(la, NoiseInjection)]
    for i, layer in enumerate(layers):
        state = layer.seed_generator.state
        state.assign(ops.cast(ops.stack([ops.cast(seed, "int64"), ops.cast(i, "int64")]), state.dtype))


def set_noise_mode(model, mode: str) -> None:
    """'random' | 'const' | 'none' for every NoiseInjection (set before tracing/exporting)."""
    from gantool.models.stylegan2_layers import NoiseInjection  # noqa: PLC0415

    if mode not in NoiseInjection.MODES:
        raise ValueError(f"noise mode {mode!r}: one of {', '.join(NoiseInjection.MODES)}")
    for layer in _walk(model):
        if isinstance(layer, NoiseInjection):
            layer.mode = mode


def _walk(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _walk(layer)


def build_mapping(z_dim: int, w_dim: int, map_layers: int):
    import keras  # noqa: PLC0415

    from gantool.models.layers import PixelNorm  # noqa: PLC0415
    from gantool.models.stylegan2_layers import EqualizedLinear, ScaledLeakyReLU, WAvgTracker  # noqa: PLC0415

    z = keras.Input((z_dim,), name="z")
    h = PixelNorm(name="normalize")(z)
    for i in range(map_layers):
        h = ScaledLeakyReLU(name=f"fc{i}_act")(EqualizedLinear(w_dim, lr_mul=0.01, name=f"fc{i}")(h))
    tracker = WAvgTracker(name="w_avg")
    return keras.Model(z, tracker(h), name="mapping"), tracker


def build_synthesis(size: int, channels: int, w_dim: int, filters: int, max_filters: int):
    import keras  # noqa: PLC0415

    from gantool.models.stylegan2_layers import (  # noqa: PLC0415
        ConstantInput, ModulatedConv2D, NoiseInjection, Resample2D, ScaledLeakyReLU)

    L = levels(size)
    ws = keras.Input((num_ws(size), w_dim), name="ws")
    seeds = iter(range(1, 4 * L + 8))

    def layer(x, res, idx, name):
        x = ModulatedConv2D(channels_at(res, size, filters, max_filters), 3, w_index=idx, name=name)([x, ws])
        x = NoiseInjection(seed=next(seeds), name=f"{name}_noise")(x)
        return ScaledLeakyReLU(name=f"{name}_act")(x)

    x = ConstantInput(channels_at(4, size, filters, max_filters), name="const")(ws)
    x = layer(x, 4, 0, "b4_conv")
    img = ModulatedConv2D(channels, 1, w_index=1, demodulate=False, name="b4_torgb")([x, ws])
    for k in range(1, L + 1):
        r = 4 * 2 ** k
        x = Resample2D(up=True, name=f"b{r}_up")(x)
        x = layer(x, r, 2 * k - 1, f"b{r}_conv0")
        x = layer(x, r, 2 * k, f"b{r}_conv1")
        rgb = ModulatedConv2D(channels, 1, w_index=2 * k + 1, demodulate=False, name=f"b{r}_torgb")([x, ws])
        img = keras.layers.Add(name=f"b{r}_skip")([Resample2D(up=True, name=f"b{r}_img_up")(img), rgb])
    img = keras.layers.Activation("linear", dtype="float32", name="image")(img)
    return keras.Model(ws, img, name="synthesis")


def build_discriminator(size: int, channels: int, filters: int, max_filters: int, mbstd_group: int = 4):
    import keras  # noqa: PLC0415

    from gantool.models.layers import EqualizedConv2D, EqualizedDense, MinibatchStdDev  # noqa: PLC0415
    from gantool.models.stylegan2_layers import Resample2D, ScaledLeakyReLU  # noqa: PLC0415

    nf = lambda r: channels_at(r, size, filters, max_filters)  # noqa: E731
    img = keras.Input((size, size, channels), name="image")
    x = ScaledLeakyReLU(name="fromrgb_act")(EqualizedConv2D(nf(size), 1, gain=1.0, name="fromrgb")(img))
    r = size
    while r > 4:
        down = Resample2D(up=False, name=f"b{r}_skip_down")(x)
        skip = EqualizedConv2D(nf(r // 2), 1, gain=1.0, name=f"b{r}_skip")(down)
        x = ScaledLeakyReLU(name=f"b{r}_conv0_act")(EqualizedConv2D(nf(r), 3, gain=1.0, name=f"b{r}_conv0")(x))
        x = Resample2D(up=False, name=f"b{r}_down")(x)
        x = ScaledLeakyReLU(name=f"b{r}_conv1_act")(EqualizedConv2D(nf(r // 2), 3, gain=1.0, name=f"b{r}_conv1")(x))
        x = keras.layers.Rescaling(1.0 / math.sqrt(2.0), name=f"b{r}_residual")(keras.layers.Add()([x, skip]))
        r //= 2
    x = MinibatchStdDev(group_size=mbstd_group, name="mbstd")(x)
    x = ScaledLeakyReLU(name="b4_conv_act")(EqualizedConv2D(nf(4), 3, gain=1.0, name="b4_conv")(x))
    x = ScaledLeakyReLU(name="b4_fc_act")(EqualizedDense(nf(4), gain=1.0, name="b4_fc")(keras.layers.Flatten()(x)))
    out = EqualizedDense(1, gain=1.0, name="out")(x)
    out = keras.layers.Activation("linear", dtype="float32", name="score")(out)
    return keras.Model(img, out, name="discriminator")


def build(size: int, channels: int, z_dim: int = 512, w_dim: int = 512, map_layers: int = 8,
          filters: int = FILTERS, max_filters: int = MAX_FILTERS):
    """-> (G, D, Parts). G: keras.Model z (N, z_dim) -> images (N, size, size, channels); D: images
    -> raw scores (N, 1). G contains the mapping and synthesis models of `parts` (shared weights)."""
    import keras  # noqa: PLC0415

    from gantool.models.stylegan2_layers import BroadcastW  # noqa: PLC0415

    if channels not in (1, 3):
        raise ValueError(f"stylegan2 takes 1 or 3 channels, got {channels}")
    mapping, tracker = build_mapping(z_dim, w_dim, map_layers)
    synthesis = build_synthesis(size, channels, w_dim, filters, max_filters)
    z = keras.Input((z_dim,), name="z")
    ws = BroadcastW(num_ws(size), name="broadcast")(mapping(z))
    G = keras.Model(z, synthesis(ws), name="generator")
    D = build_discriminator(size, channels, filters, max_filters)
    return G, D, Parts(mapping=mapping, synthesis=synthesis, num_ws=num_ws(size), tracker=tracker)

"""Custom Keras layers of StyleGAN2 (Karras et al. 2020, config F). Each is registered for Keras
serialisation with a complete get_config, so models saved as .keras load back (safe_mode) with
only `import gantool.models.stylegan2_layers`.

Equalized learning rate: weights are stored N(0, 1/lr_mul) and scaled at run time by
gain * lr_mul / sqrt(fan_in); biases are stored as init/lr_mul and multiplied by lr_mul.
Activations are leaky ReLU(0.2) times sqrt(2) (ScaledLeakyReLU), the layers' gain stays 1.

- EqualizedLinear: the dense layer above with lr multiplier and bias init (mapping: lr_mul 0.01;
  style affines: bias init 1).
- ModulatedConv2D([x, ws]): the style s = affine(ws[:, w_index]) scales the input channels, the
  kernel (k x k, no bias before noise) is shared, and with demodulation each output channel of
  each image is divided by sqrt(sum over kernel taps and inputs of (weight * s)^2 + 1e-8),
  which equals the paper's per-sample weight modulation/demodulation (applied to activations
  instead of to a per-sample kernel, so one ordinary convolution serves the whole batch).
  toRGB: 1x1, no demodulation, style scaled by 1/sqrt(fan_in) as in the paper.
- NoiseInjection: x + strength[c] * N(0, 1) per pixel (one noise map shared by the channels);
  strength starts at 0. Noise comes from the layer's SeedGenerator (its state is a non-trainable
  variable of the model, so checkpoints carry it; stylegan2.reseed_noise sets it from a step
  seed), drawn for the global batch under a tf.distribute strategy; mode 'const' uses a stored
  fixed map instead, 'none' no noise (stylegan2.set_noise_mode).
- ConstantInput(ws): the learned 4x4 constant, tiled to the batch.
- Resample2D: up (zero insertion, x4 gain) or down (every second pixel) by 2 with the separable
  [1, 3, 3, 1] binomial low-pass (upfirdn: pad (2, 1) when upsampling, (1, 1) when downsampling).
- BroadcastW: w (N, w_dim) -> ws (N, num_ws, w_dim).
- WAvgTracker: identity on w; in training mode also moves the tracked mean w toward the batch
  mean, w_avg <- batch_mean + decay * (w_avg - batch_mean) (decay 0.995).
"""

from __future__ import annotations

import math

import keras
from keras import ops

SQRT2 = math.sqrt(2.0)
FIR = (1.0, 3.0, 3.0, 1.0)


def _normal(std):
    return keras.initializers.RandomNormal(0.0, std)


@keras.saving.register_keras_serializable(package="gantool")
class ScaledLeakyReLU(keras.layers.Layer):
    def __init__(self, negative_slope: float = 0.2, gain: float = SQRT2, **kw):
        super().__init__(**kw)
        self.negative_slope, self.gain = negative_slope, gain

    def call(self, x):
        return ops.leaky_relu(x, self.negative_slope) * self.gain

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope, "gain": self.gain}


@keras.saving.register_keras_serializable(package="gantool")
class EqualizedLinear(keras.layers.Layer):
    def __init__(self, units: int, lr_mul: float = 1.0, bias_init: float = 0.0, use_bias: bool = True,
                 gain: float = 1.0, **kw):
        super().__init__(**kw)
        self.units, self.lr_mul, self.bias_init, self.use_bias, self.gain = units, lr_mul, bias_init, use_bias, gain

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = self.gain * self.lr_mul / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(fan_in, self.units), initializer=_normal(1.0 / self.lr_mul), name="kernel")
        self.bias = None
        if self.use_bias:
            init = keras.initializers.Constant(self.bias_init / self.lr_mul)
            self.bias = self.add_weight(shape=(self.units,), initializer=init, name="bias")

    def call(self, x):
        y = ops.matmul(x, ops.cast(self.kernel * self.scale, x.dtype))
        return y + ops.cast(self.bias * self.lr_mul, x.dtype) if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_mul": self.lr_mul, "bias_init": self.bias_init,
                "use_bias": self.use_bias, "gain": self.gain}


@keras.saving.register_keras_serializable(package="gantool")
class ModulatedConv2D(keras.layers.Layer):
    def __init__(self, filters: int, kernel_size: int = 3, w_index: int = 0, demodulate: bool = True,
                 epsilon: float = 1e-8, **kw):
        super().__init__(**kw)
        self.filters, self.kernel_size, self.w_index = filters, kernel_size, w_index
        self.demodulate, self.epsilon = demodulate, epsilon

    def build(self, input_shape):
        x_shape, ws_shape = input_shape
        cin, k = int(x_shape[-1]), self.kernel_size
        self.scale = 1.0 / math.sqrt(k * k * cin)
        self.affine = EqualizedLinear(cin, bias_init=1.0, name="affine")
        self.affine.build((None, int(ws_shape[-1])))
        self.kernel = self.add_weight(shape=(k, k, cin, self.filters), initializer=_normal(1.0), name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def styles(self, ws):
        s = self.affine(ws[:, self.w_index])
        return s if self.demodulate else s * self.scale  # toRGB: the paper's weight gain on the style

    def call(self, inputs):
        x, ws = inputs
        s = self.styles(ws)
        w = ops.cast(self.kernel * (self.scale if self.demodulate else 1.0), x.dtype)
        y = ops.conv(x * ops.cast(s[:, None, None, :], x.dtype), w, strides=1, padding="same")
        if self.demodulate:
            wsq = ops.sum(ops.square(self.kernel * self.scale), axis=(0, 1))           # (cin, cout)
            d = ops.rsqrt(ops.matmul(ops.square(s), wsq) + self.epsilon)              # (N, cout)
            y = y * ops.cast(d[:, None, None, :], y.dtype)
        return y + ops.cast(self.bias, y.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "w_index": self.w_index, "demodulate": self.demodulate, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="gantool")
class NoiseInjection(keras.layers.Layer):
    """mode 'random': fresh N(0, 1) noise per call; 'const': a fixed noise map stored with the
    layer (deterministic sampling and export); 'none': no noise."""

    MODES = ("random", "const", "none")

    def __init__(self, seed: int = 0, mode: str = "random", **kw):
        super().__init__(**kw)
        if mode not in self.MODES:
            raise ValueError(f"noise mode {mode!r}: one of {', '.join(self.MODES)}")
        self.seed, self.mode = seed, mode
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros", name="strength")
        self.const = self.add_weight(shape=(int(input_shape[1]), int(input_shape[2]), 1), trainable=False,
                                     initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed),
                                     name="const_noise")

    def call(self, x):
        if self.mode == "none":
            return x
        if self.mode == "const":
            noise = ops.cast(self.const, x.dtype)[None]
        else:
            noise = self.random_maps(x)
        return x + noise * ops.cast(self.strength, x.dtype)

    def random_maps(self, x):
        """N(0, 1) maps (N, H, W, 1) for x's rows. Under a tf.distribute strategy with R replicas
        each replica draws the maps of all R x N rows, as one device with the whole batch does,
        and keeps its own N: a row's noise does not depend on how many devices share the batch
        (and replicas do not repeat each other's noise)."""
        import tensorflow as tf  # noqa: PLC0415  (the Keras backend gantool runs on)

        shape = ops.shape(x)
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        noise = keras.random.normal((shape[0] * replicas, shape[1], shape[2], 1), seed=self.seed_generator,
                                    dtype=x.dtype)
        if replicas == 1:
            return noise
        start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * shape[0]
        return noise[start:start + shape[0]]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


@keras.saving.register_keras_serializable(package="gantool")
class ConstantInput(keras.layers.Layer):
    def __init__(self, channels: int, size: int = 4, **kw):
        super().__init__(**kw)
        self.channels, self.size = channels, size

    def build(self, input_shape):
        self.const = self.add_weight(shape=(self.size, self.size, self.channels), initializer=_normal(1.0),
                                     name="const")

    def call(self, ws):
        n = ops.shape(ws)[0]
        c = ops.cast(self.const, self.compute_dtype)
        return ops.broadcast_to(c[None], (n, self.size, self.size, self.channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package="gantool")
class Resample2D(keras.layers.Layer):
    """factor 2 (up) or 0.5 (down) with the normalised outer product of FIR taps."""

    def __init__(self, up: bool = True, taps=FIR, **kw):
        super().__init__(**kw)
        self.up, self.taps = up, tuple(float(t) for t in taps)

    def _kernel(self, channels, dtype):
        k = ops.convert_to_tensor(self.taps, "float32")
        k2 = ops.outer(k, k) / ops.square(ops.sum(k)) * (4.0 if self.up else 1.0)
        return ops.cast(ops.tile(k2[:, :, None, None], (1, 1, channels, 1)), dtype)

    def call(self, x):
        n = ops.shape(x)[0]
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        taps = len(self.taps)
        if self.up:
            z = ops.zeros_like(x)
            x = ops.reshape(ops.stack([x, z], axis=3), (n, h, 2 * w, c))        # zeros between columns
            x = ops.reshape(ops.stack([x, ops.zeros_like(x)], axis=2), (n, 2 * h, 2 * w, c))
            p = taps - 2
            x = ops.pad(x, ((0, 0), ((p + 1) // 2 + 1, p // 2), ((p + 1) // 2 + 1, p // 2), (0, 0)))
            return ops.depthwise_conv(x, self._kernel(c, x.dtype), strides=1, padding="valid")
        p = taps - 2
        x = ops.pad(x, ((0, 0), ((p + 1) // 2, p // 2), ((p + 1) // 2, p // 2), (0, 0)))
        return ops.depthwise_conv(x, self._kernel(c, x.dtype), strides=2, padding="valid")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        f = (lambda v: None if v is None else v * 2) if self.up else (lambda v: None if v is None else v // 2)
        return (n, f(h), f(w), c)

    def get_config(self):
        return {**super().get_config(), "up": self.up, "taps": list(self.taps)}


@keras.saving.register_keras_serializable(package="gantool")
class BroadcastW(keras.layers.Layer):
    def __init__(self, num_ws: int, **kw):
        super().__init__(**kw)
        self.num_ws = num_ws

    def call(self, w):
        return ops.repeat(w[:, None, :], self.num_ws, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_ws, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "num_ws": self.num_ws}


@keras.saving.register_keras_serializable(package="gantool")
class WAvgTracker(keras.layers.Layer):
    def __init__(self, decay: float = 0.995, **kw):
        super().__init__(**kw)
        self.decay = decay

    def build(self, input_shape):
        self.w_avg = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros", trainable=False,
                                     name="w_avg", aggregation="mean")

    def call(self, w, training=False):
        if training:
            mean = ops.mean(ops.cast(w, "float32"), axis=0)
            self.w_avg.assign(mean + self.decay * (self.w_avg - mean))
        return w

    def get_config(self):
        return {**super().get_config(), "decay": self.decay}

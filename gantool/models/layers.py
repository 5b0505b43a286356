"""Custom Keras layers of the progressive GAN (Karras et al. 2018). Every one is registered
for Keras serialisation with a complete get_config, so stage generators saved as .keras load
back (safe_mode) without gantool's training code, only `import gantool.models.layers`.

- PixelNorm: x / sqrt(mean(x^2 over channels) + eps), after each conv in G.
- MinibatchStdDev: appends the mean over features of the per-group standard deviation as one
  extra feature map (groups of up to 4 consecutive images), at the start of D's last block.
- EqualizedDense / EqualizedConv2D: weights stored N(0, 1) and scaled at run time by
  gain / sqrt(fan_in) (the "equalized learning rate"); bias starts at 0.
- Fade: (1 - alpha) * old + alpha * new, alpha fed as a model input of shape (N, 1) or (1,).
- GainClip: clip(gain * x, -1, 1) after dcgan's tanh (--out-gain), so G reaches black and white.
"""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="gantool")
class PixelNorm(keras.layers.Layer):
    def __init__(self, epsilon: float = 1e-8, **kw):
        super().__init__(**kw)
        self.epsilon = epsilon

    def call(self, x):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="gantool")
class MinibatchStdDev(keras.layers.Layer):
    def __init__(self, group_size: int = 4, epsilon: float = 1e-8, **kw):
        super().__init__(**kw)
        self.group_size, self.epsilon = group_size, epsilon

    def _group(self, n):
        if n is None:
            return None
        return max(g for g in range(1, min(self.group_size, n) + 1) if n % g == 0)

    def call(self, x):
        shape = ops.shape(x)
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        g = self._group(x.shape[0])
        if g is None:  # batch size unknown while tracing: statistics over the whole batch
            std = ops.sqrt(ops.var(x, axis=0) + self.epsilon)          # (H, W, C)
            feat = ops.broadcast_to(ops.mean(std), (shape[0], h, w, 1))
            return ops.concatenate([x, ops.cast(feat, x.dtype)], axis=-1)
        # image i sits in group i // g: consecutive images, so a replica's (or a micro-batch's) rows
        # form the same groups as in the whole batch whenever g divides its row count
        y = ops.reshape(x, (-1, g, h, w, c))
        std = ops.sqrt(ops.var(y, axis=1) + self.epsilon)               # (N/g, H, W, C)
        s = ops.mean(std, axis=(1, 2, 3))                               # (N/g,)
        s = ops.tile(ops.reshape(s, (-1, 1, 1, 1, 1)), (1, g, h, w, 1))
        return ops.concatenate([x, ops.cast(ops.reshape(s, (-1, h, w, 1)), x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="gantool")
class EqualizedDense(keras.layers.Layer):
    def __init__(self, units: int, gain: float = math.sqrt(2), use_bias: bool = True, **kw):
        super().__init__(**kw)
        self.units, self.gain, self.use_bias = units, gain, use_bias

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.scale = self.gain / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(fan_in, self.units), initializer=keras.initializers.RandomNormal(0.0, 1.0),
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, x):
        y = ops.matmul(x, self.kernel * self.scale)
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "gain": self.gain, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="gantool")
class EqualizedConv2D(keras.layers.Layer):
    def __init__(self, filters: int, kernel_size: int = 3, gain: float = math.sqrt(2), **kw):
        super().__init__(**kw)
        self.filters, self.kernel_size, self.gain = filters, kernel_size, gain

    def build(self, input_shape):
        cin = int(input_shape[-1])
        k = self.kernel_size
        self.scale = self.gain / math.sqrt(k * k * cin)
        self.kernel = self.add_weight(shape=(k, k, cin, self.filters),
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0), name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, x):
        return ops.conv(x, self.kernel * self.scale, strides=1, padding="same") + self.bias

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size, "gain": self.gain}


@keras.saving.register_keras_serializable(package="gantool")
class Fade(keras.layers.Layer):
    """inputs [old, new, alpha] -> old + alpha * (new - old)."""

    def call(self, inputs):
        old, new, alpha = inputs
        a = ops.reshape(ops.cast(alpha, old.dtype), (-1, 1, 1, 1))
        return old + a * (new - old)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="gantool")
class ToUint8(keras.layers.Layer):
    """[-1, 1] floats -> uint8 [0, 255] (round half to even, clipped): the scaling exported
    generators carry, identical to gantool.images.to_uint8."""

    def call(self, x):
        return ops.cast(ops.clip(ops.round((ops.cast(x, "float32") + 1.0) * 127.5), 0.0, 255.0), "uint8")

    def compute_output_spec(self, x):
        return keras.KerasTensor(x.shape, dtype="uint8")


@keras.saving.register_keras_serializable(package="gantool")
class GainClip(keras.layers.Layer):
    """x -> clip(gain * x, -1, 1): after a tanh, the output reaches -1 and 1 (black and white)
    at finite pre-activations (|pre| >= atanh(1 / gain)), where a plain tanh only approaches them."""

    def __init__(self, gain: float = 1.0, **kw):
        super().__init__(**kw)
        self.gain = float(gain)

    def call(self, x):
        return ops.clip(x * self.gain, -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}

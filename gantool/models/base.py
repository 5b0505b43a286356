"""What a model variant is, and the pieces the fixed-resolution variants share.

A variant registers a ModelSpec under its CLI word. `build(cfg)` returns (G, D) as plain
functional keras.Models: G maps z (N, z_dim) to float32 images in [-1, 1] (N, H, W, C);
D maps images to raw scores (N, 1) with no final activation (the loss applies its own).
Keras is imported inside functions only (habit 8).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable

from gantool.errors import UsageError
from gantool.registry import Registry

SIZE_BASES = (3, 4, 5, 7)
INIT_STD = 0.02  # Radford et al.: all weights from N(0, 0.02)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    build: Callable[[Any], tuple]            # TrainConfig -> (G, D)
    check: Callable[[int, Any], None]        # (size, cfg) -> raises UsageError if unsupported
    defaults: dict = field(default_factory=dict)  # per-variant defaults of train options
    progressive: bool = False                 # grows through resolutions (gantool.train.progressive)


VARIANTS: Registry[ModelSpec] = Registry("variant", "VARIANT")


def factor_size(size: int) -> tuple[int, int]:
    """size = base * 2**k with base in SIZE_BASES and k >= 1, e.g. 28 -> (7, 2), 64 -> (4, 4)."""
    for base in SIZE_BASES:
        k, rest = 0, size
        while rest % 2 == 0 and rest > base:
            rest //= 2
            k += 1
        if rest == base and k >= 1:
            return base, k
    raise UsageError(
        f"size {size} is not base*2^k with base in {{3, 4, 5, 7}} and k >= 1 "
        "(e.g. 28, 32, 48, 64, 192, 256, 512, 1024); prep the data at such a size"
    )


def filters_at(level: int, k: int, filters: int, max_filters: int) -> int:
    """Channels at resolution base*2^level (level 0 = smallest): doubling towards the bottom,
    `filters` at level k-1 (the last hidden level), capped at max_filters."""
    return int(min(max_filters, filters * 2 ** (k - 1 - level)))


def init():
    import keras  # noqa: PLC0415

    return keras.initializers.RandomNormal(0.0, INIT_STD)


def synchronized(cfg) -> bool:
    """BatchNorm statistics over the global batch when the run trains on several replicas."""
    return (getattr(cfg, "strategy", None) or "default") != "default"


def batchnorm(synchronized: bool = False):
    import keras  # noqa: PLC0415

    return keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, INIT_STD),
        synchronized=synchronized,
    )


def maybe_sn(layer, enabled: bool):
    """Wrap a layer of D in spectral normalisation (Miyato et al. 2018) when asked."""
    if not enabled:
        return layer
    import keras  # noqa: PLC0415

    return keras.layers.SpectralNormalization(layer, power_iterations=1)


def activation(name: str):
    import keras  # noqa: PLC0415

    if name == "lrelu":
        return keras.layers.LeakyReLU(negative_slope=0.2)
    return keras.layers.Activation(name)


PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def precision(cfg):
    """Layers created inside take --precision's Keras dtype policy (variables stay float32 and
    the computation runs in float16/bfloat16 under the mixed policies); restored afterwards."""
    import keras  # noqa: PLC0415

    old = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(getattr(cfg, "precision", None) or "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(old)

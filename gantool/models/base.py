"""What a model variant is, and the pieces the fixed-resolution variants share.

A variant registers a ModelSpec under its CLI word. `build(cfg)` returns (G, D) as plain
functional keras.Models: G maps z (N, z_dim) to float32 images in [-1, 1] (N, H, W, C);
D maps images to raw scores (N, 1) with no final activation (the loss applies its own).
Keras is imported inside functions only (habit 8).

A variant owns its settings: its ModelSpec declares its defaults, which SHAPE_OPTIONS its build
reads (`honours`), its own options, its presets, and what the engine must do differently for it
(`progressive`, `joint_d_batch`); the engine reads these properties and never a variant's name.
`refuse_unused` turns an option the chosen variant (or preset) does not use into one UsageError
line naming both. Adding a variant is one module plus one registry line (plus its CLI flags and
TrainConfig fields, if it has options of its own).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from gantool.errors import UsageError
from gantool.registry import Registry

SIZE_BASES = (3, 4, 5, 7)
INIT_STD = 0.02  # Radford et al.: all weights from N(0, 0.02)


# Options a variant's build reads or not (TrainConfig field names); each variant says which it
# honours. The engine's options (loss, learning rates, penalties, noise, EMA, ...) work the same
# for every G and D, so every variant honours them.
SHAPE_OPTIONS = ("filters", "max_filters", "kernel", "spectral_norm", "d_bias", "out_gain")


@dataclass(frozen=True)
class Preset:
    """A fixed recipe of a variant (--preset NAME): its own build, and what it honours of the
    variant's shape options."""
    name: str
    summary: str
    build: Callable[[Any], tuple]
    check: Callable[[int, Any], None]
    honours: frozenset = frozenset()
    why_not: str = ""                         # message tail for a shape option the preset fixes
    joint_d_batch: bool = False               # D scores real and fake in one batch (BatchNorm on its output)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    build: Callable[[Any], tuple]            # TrainConfig -> (G, D)
    check: Callable[[int, Any], None]        # (size, cfg) -> raises UsageError if unsupported
    defaults: dict = field(default_factory=dict)  # per-variant defaults of train options
    honours: frozenset = frozenset(SHAPE_OPTIONS)  # the SHAPE_OPTIONS its build reads
    why_not: dict = field(default_factory=dict)    # shape option -> why this variant does not read it
    options: dict = field(default_factory=dict)    # its own options (TrainConfig fields) -> why others refuse them
    presets: dict = field(default_factory=dict)    # --preset NAME -> Preset
    progressive: bool = False                 # grows through resolutions (gantool.train.progressive)
    joint_d_batch: bool = False               # D scores real and fake in one batch (see gantool.train.step)
    refuses: dict = field(default_factory=dict)    # engine options (TrainConfig fields) it does not use -> why
    recipe: Callable | None = None            # (cfg, G) -> its training recipe (gantool.train.recipe), when its
                                              # training differs from the engine's plain step

    preset: str | None = None                 # set by with_preset: the recipe this entry builds

    @property
    def label(self) -> str:
        """How messages name it: 'dcgan', 'dcgan --preset mnist'."""
        return self.name + (f" --preset {self.preset}" if self.preset else "")

    def with_preset(self, preset: str | None) -> "ModelSpec":
        """This variant as --preset `preset` builds it (itself for None)."""
        if not preset:
            return self
        if not self.presets:
            raise UsageError(f"--preset: {self.name} does not use it (it has no presets); drop the flag")
        if preset not in self.presets:
            raise UsageError(f"--preset: unknown preset {preset!r} of {self.name}; known: {', '.join(self.presets)}")
        p = self.presets[preset]
        why = {o: p.why_not for o in SHAPE_OPTIONS if o not in p.honours}
        return replace(self, summary=p.summary, build=p.build, check=p.check, honours=p.honours & self.honours,
                       why_not={**self.why_not, **why}, joint_d_batch=p.joint_d_batch, preset=preset)

    def refuse_unused(self, given: dict) -> None:
        """UsageError naming the first option in `given` (TrainConfig field -> the value the user
        gave; None = not given) that this variant does not honour, and the variant."""
        foreign = {o: why.format(owner=v, variant=self.name) for v in VARIANTS.names() if v != self.name
                   for o, why in VARIANTS.get(v).options.items()}
        for opt, value in given.items():
            if value is None:
                continue
            flag = "--" + opt.replace("_", "-")
            if opt in self.refuses:
                raise UsageError(f"{flag}: {self.label} does not use it ({self.refuses[opt]}); drop the flag")
            if opt in SHAPE_OPTIONS and opt not in self.honours:
                why = self.why_not.get(opt)
                raise UsageError(f"{flag}: {self.label} does not use it" + (f" ({why})" if why else "") + "; drop the flag")
            if opt == "preset" and not self.presets:
                raise UsageError(f"{flag}: {self.label} does not use it (it has no presets); drop the flag")
            if opt in foreign and opt not in self.options:
                raise UsageError(f"{flag}: {self.label} does not use it ({foreign[opt]}); drop the flag")


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

"""Model variants. Importing this package registers every variant (no TensorFlow import:
each variant builds its Keras models inside functions, habit 8)."""

from gantool.models.base import VARIANTS, ModelSpec  # noqa: F401
from gantool.models import dcgan, gan, hdcgan, pggan, stylegan2_variant  # noqa: F401,E402  (registration side effect)


def spec_of(cfg) -> ModelSpec:
    """The registry entry that builds `cfg`'s models: its variant, with its --preset applied."""
    return VARIANTS.get(cfg.variant).with_preset(getattr(cfg, "preset", None))

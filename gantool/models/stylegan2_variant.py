"""The `stylegan2` variant: its registry entry (defaults, the options it honours and refuses),
its build from a TrainConfig, and its training recipe.

The networks are gantool.models.stylegan2; the recipe the engine runs for it (style mixing, lazy
R1, path length, EMA by half-life, noise from the step key) is gantool.models.stylegan2_recipe
with its formulas in gantool.models.stylegan2_regs. The engine knows none of these by name.
"""

from __future__ import annotations

from gantool.errors import UsageError
from gantool.models.base import VARIANTS, ModelSpec
from gantool.models.stylegan2 import FILTERS, MAX_FILTERS, build, levels
from gantool.models.stylegan2_recipe import StyleGAN2Recipe


def _build_variant(cfg):
    """(G, D) for a TrainConfig; w has z's size (512 by default, as in the paper)."""
    G, D, _ = build(cfg.size, cfg.channels, z_dim=cfg.z_dim, w_dim=cfg.z_dim, map_layers=cfg.map_layers,
                    filters=cfg.filters, max_filters=cfg.max_filters)
    return G, D


def _check(size: int, cfg) -> None:
    try:
        levels(size)
    except ValueError as e:
        raise UsageError(f"--data: {e}") from None
    if cfg.latent != "normal":
        raise UsageError(f"--latent {cfg.latent}: stylegan2's mapping network takes normal z")


def _recipe(cfg, G):
    return StyleGAN2Recipe(cfg, G)


def _register() -> None:
    VARIANTS.register("stylegan2")(ModelSpec(
        name="stylegan2",
        summary="Karras et al. StyleGAN2 (config F) with lazy R1, path length reg, style mixing, EMA; 4*2^k px",
        build=_build_variant,
        check=_check,
        defaults={"batch": 32, "filters": FILTERS, "max_filters": MAX_FILTERS, "z_dim": 512, "latent": "normal",
                  "loss": "bce", "lr_g": 0.002, "lr_d": 0.002, "beta1": 0.0, "beta2": 0.99},
        honours=frozenset({"filters", "max_filters"}),
        why_not={"kernel": "its convolutions are 3x3 (1x1 toRGB/fromRGB)",
                 "spectral_norm": "its D uses equalized learning rate and R1 instead",
                 "d_bias": "all its layers have biases", "out_gain": "its output is linear, as in the paper"},
        options={"map_layers": "a mapping network is {owner}'s; {variant} has none",
                 "ema_kimg": "{owner}'s EMA half-life; {variant} takes --ema DECAY",
                 "style_mixing": "style mixing needs {owner}'s mapping network; {variant} has none",
                 "pl_weight": "the path length term is {owner}'s"},
        refuses={"ema": "its G EMA is always on, by half-life: --ema-kimg",
                 "reuse_fake": "its recipe makes each update's fakes its own way, with style mixing"},
        recipe=_recipe,
    ))


_register()

"""`gantool train ... --dry-run`: parameter counts and a rough memory estimate, before a run.

The estimate counts what a step must hold at its peak, per replica:
- weights: G and D in float32, each with a gradient and Adam's two moments (x4), plus the EMA
  copy of G when --ema is on;
- activations: every layer output of the models (the tensors a backward pass keeps), per image,
  times the micro-batch (batch / replicas / --grad-accum), in the compute dtype of --precision.
  The D update keeps D's activations for the real and the fake batch (and, for wgan-gp or R1,
  the double-backward pass roughly doubles D's share); the G update keeps G's and D's.
It ignores framework workspace and fragmentation (cuDNN, XLA buffers), which on a GPU adds
about 10-50 %, so read it as the order of magnitude and for comparing settings.
"""

from __future__ import annotations

import math

from gantool.models import spec_of
from gantool.train.distribute import replicas_for
from gantool.train.state import build_models

GIB = 1024 ** 3


def _activation_elements(model) -> int:
    """Sum over a functional model's layers of the elements of each output, per image (the
    layers of a nested model, e.g. stylegan2's mapping and synthesis, counted inside it)."""
    total = 0
    for layer in model.layers:
        if getattr(layer, "layers", None):
            total += _activation_elements(layer)
            continue
        outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        for t in outputs:
            dims = [d for d in t.shape[1:]]
            if all(d is not None for d in dims):
                total += math.prod(dims)
    return total


def estimate(cfg) -> dict:
    """Parameter counts and peak-memory estimate (bytes and GiB) for cfg's final resolution."""
    G, D = build_models(cfg)
    spec = spec_of(cfg)
    recipe = spec.recipe(cfg, G) if spec.recipe is not None else None
    ema = cfg.ema > 0 or getattr(recipe, "keeps_ema", False)
    r1 = cfg.r1 > 0 or getattr(recipe, "r1_gamma", 0) > 0
    p_g, p_d = int(G.count_params()), int(D.count_params())
    a_g, a_d = _activation_elements(G), _activation_elements(D)
    replicas = replicas_for(cfg.strategy)
    micro = max(1, cfg.batch // max(1, replicas * cfg.grad_accum))
    act_bytes = 4 if cfg.precision == "float32" else 2
    d_share = 2 * a_d * (2 if cfg.loss == "wgan-gp" or r1 else 1)
    per_image = max(d_share, a_g + a_d)
    weights = 4 * (4 * (p_g + p_d) + (p_g if ema else 0))
    activations = per_image * micro * act_bytes
    return {
        "resolution": cfg.size,
        "params": {"generator": p_g, "discriminator": p_d, "total": p_g + p_d},
        "replicas": replicas,
        "micro_batch": micro,
        "memory_bytes": {"weights_and_optimizer": weights, "activations": activations,
                         "total": weights + activations},
        "memory_gib": round((weights + activations) / GIB, 3),
        "note": "rough per-replica peak; framework workspace not included",
    }

"""The metrics `gantool eval --metrics` knows, one registry line each (habit 4). Each takes the
features/images gathered by eval/run.py and returns a dict with a headline "value" plus detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from gantool.registry import Registry


@dataclass
class Inputs:
    """What one evaluation gathered. Feature arrays are None when no metric needs them."""
    fake_feats: np.ndarray | None = None     # Inception features of every generated image
    real_feats: np.ndarray | None = None
    fake_ms: np.ndarray | None = None        # uint8 images at the MS-SSIM size
    real_ms: np.ndarray | None = None
    fake_nn: np.ndarray | None = None        # nn space: the first nn_count generated images
    real_nn: np.ndarray | None = None        # nn space: every real image
    nn_space: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    name: str
    title: str
    needs_net: bool
    compute: Callable[[Inputs, object], dict]
    lower_is_better: bool = True


METRICS: Registry[Metric] = Registry("metric", "--metrics")


def _fid(x: Inputs, cfg) -> dict:
    from gantool.eval.fid import fid  # noqa: PLC0415

    return {"value": fid(x.real_feats, x.fake_feats), "fake": len(x.fake_feats), "real": len(x.real_feats)}


def _kid(x: Inputs, cfg) -> dict:
    from gantool.eval.kid import kid  # noqa: PLC0415

    size = min(cfg.kid_subset_size, len(x.real_feats), len(x.fake_feats))
    mean, std = kid(x.real_feats, x.fake_feats, cfg.kid_subsets, size, cfg.seed)
    return {"value": mean, "std": std, "subsets": cfg.kid_subsets, "subset_size": size}


def _pr(x: Inputs, cfg) -> dict:
    from gantool.eval.prdc import precision_recall  # noqa: PLC0415

    p, r = precision_recall(x.real_feats, x.fake_feats, cfg.pr_k)
    # the headline is recall: precision alone is maximised by a generator that collapses
    return {"value": r, "precision": p, "recall": r, "k": cfg.pr_k}


def _msssim(x: Inputs, cfg) -> dict:
    from gantool.eval.msssim import mean_msssim  # noqa: PLC0415

    fake = mean_msssim(x.fake_ms, cfg.pairs, cfg.seed)
    real = mean_msssim(x.real_ms, cfg.pairs, cfg.seed) if x.real_ms is not None and len(x.real_ms) > 1 else None
    return {"value": fake, "fake": fake, "real": real, "pairs": cfg.pairs, "size": int(x.fake_ms.shape[1]),
            "images": int(len(x.fake_ms)), "real_images": int(len(x.real_ms)) if x.real_ms is not None else 0}


def _nn(x: Inputs, cfg) -> dict:
    from gantool.eval.nn import memorisation_stats, nearest, real_reference  # noqa: PLC0415

    d_fake, i_fake = nearest(x.fake_nn, x.real_nn, cfg.nn_k)
    st = memorisation_stats(d_fake[:, 0], real_reference(x.real_nn, max(len(x.fake_nn), 1000), cfg.seed))
    x.extra["nn_index"] = i_fake[:cfg.nn_show]
    return {"value": st["ratio"], "space": x.nn_space, "generated": len(x.fake_nn), "neighbours": int(i_fake.shape[1]),
            **st, "shown": [{"generated": i, "nearest": [int(j) for j in row], "distances": [float(d) for d in drow]}
                            for i, (row, drow) in enumerate(zip(i_fake[:cfg.nn_show], d_fake[:cfg.nn_show]))]}


for _m in (
    Metric("fid", "FID", True, _fid),
    Metric("kid", "KID", True, _kid),
    Metric("pr", "precision / recall", True, _pr, lower_is_better=False),
    Metric("msssim", "MS-SSIM diversity", False, _msssim),
    Metric("nn", "nearest neighbours", False, _nn, lower_is_better=False),
):
    METRICS.register(_m.name)(_m)

DEFAULT_METRICS = "fid,kid,pr,msssim,nn"


def parse_metrics(text: str) -> list[str]:
    names = [m.strip().lower() for m in text.split(",") if m.strip()]
    if not names:
        from gantool.errors import UsageError  # noqa: PLC0415

        raise UsageError(f"--metrics: give at least one of {', '.join(METRICS.names())}")
    for m in names:
        METRICS.get(m)
    return list(dict.fromkeys(names))


def summary(name: str, r: dict) -> str:
    """One human line per metric for the terminal table and the HTML report."""
    if name == "fid":
        return f"{r['value']:.3f}  ({r['fake']} generated vs {r['real']} real)"
    if name == "kid":
        return f"{r['value']:.5f} +- {r['std']:.5f}  ({r['subsets']} subsets of {r['subset_size']})"
    if name == "pr":
        return f"precision {r['precision']:.3f}, recall {r['recall']:.3f}  (k={r['k']})"
    if name == "msssim":
        real = f", real data {r['real']:.4f}" if r.get("real") is not None else ""
        return f"{r['fake']:.4f}{real}  ({r['pairs']} pairs at {r['size']} px; lower = more diverse)"
    if name == "nn":
        return (f"median distance to nearest training image {r['fake_to_real']['median']:.4g} vs training set to itself "
                f"{r['real_to_real']['median']:.4g} (ratio {r['ratio']:.2f}; near copies {100 * r['near_copies']:.1f} %; "
                f"{r['space']} space)")
    return f"{r['value']:.4g}"

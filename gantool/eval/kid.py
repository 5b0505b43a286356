"""Kernel Inception Distance (Binkowski et al. 2018): the unbiased estimator of the squared MMD
with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets."""

from __future__ import annotations

import numpy as np

from gantool.eval.metric import Metric, register


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """MMD^2_u = mean_{i!=j} k(x_i, x_j) + mean_{i!=j} k(y_i, y_j) - 2 mean_{i,j} k(x_i, y_j)."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kid(real: np.ndarray, fake: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) of MMD^2_u over `subsets` random subsets of min(subset_size, n) of each set."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased(real[rng.choice(len(real), size, replace=False)],
                          fake[rng.choice(len(fake), size, replace=False)]) for _ in range(subsets)]
    return float(np.mean(vals)), float(np.std(vals))


def _compute(x, cfg) -> dict:
    size = min(cfg.kid_subset_size, len(x.real_feats), len(x.fake_feats))
    mean, std = kid(x.real_feats, x.fake_feats, cfg.kid_subsets, size, cfg.seed)
    return {"value": mean, "std": std, "subsets": cfg.kid_subsets, "subset_size": size}


register(Metric("kid", "KID", frozenset({"inception"}), _compute,
                lambda r: f"{r['value']:.5f} +- {r['std']:.5f}  ({r['subsets']} subsets of {r['subset_size']})",
                log_fields=(("std", "std"),)))

"""Frechet distance between Gaussians fitted to two feature sets (FID; Heusel et al. 2017)."""

from __future__ import annotations

import numpy as np

from gantool.eval.metric import Metric, register


def stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (rows are samples, unbiased covariance as in the reference code)."""
    feats = np.asarray(feats, np.float64)
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet(mu1, s1, mu2, s2) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    tr((S1 S2)^(1/2)) is computed as tr((R S2 R)^(1/2)) with R = S1^(1/2): the same value, but
    through symmetric eigendecompositions, so singular covariances (flat pixels, fewer samples
    than dimensions) stay finite and real."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(s1).astype(np.float64), np.atleast_2d(s2).astype(np.float64)
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root1 @ s2 @ root1
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def fid(real_feats: np.ndarray, fake_feats: np.ndarray) -> float:
    return frechet(*stats(real_feats), *stats(fake_feats))


def _compute(x, cfg) -> dict:
    return {"value": fid(x.real_feats, x.fake_feats), "fake": len(x.fake_feats), "real": len(x.real_feats)}


register(Metric("fid", "FID", frozenset({"inception"}), _compute,
                lambda r: f"{r['value']:.3f}  ({r['fake']} generated vs {r['real']} real)",
                log_fields=(("real", "real_value"),)))

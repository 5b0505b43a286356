"""Improved precision and recall (Kynkaanniemi et al. 2019): each set's manifold is the union
of balls around its samples with radius the distance to the k-th nearest neighbour in the same
set. Precision = share of generated samples inside the real manifold; recall = share of real
samples inside the generated manifold."""

from __future__ import annotations

import numpy as np

from gantool.eval.metric import Metric, register


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)


def knn_radii(x: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    """Squared distance of each row to its k-th nearest other row."""
    out = np.empty(len(x))
    for i in range(0, len(x), block):
        d = _sqdist(x[i:i + block], x)
        out[i:i + block] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself
    return out


def coverage_of(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, block: int = 1024) -> float:
    inside = np.zeros(len(points), bool)
    for i in range(0, len(points), block):
        inside[i:i + block] = (_sqdist(points[i:i + block], centres) <= radii[None, :]).any(axis=1)
    return float(inside.mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples in each set")
    precision = coverage_of(fake, real, knn_radii(real, k))
    recall = coverage_of(real, fake, knn_radii(fake, k))
    return precision, recall


def _compute(x, cfg) -> dict:
    p, r = precision_recall(x.real_feats, x.fake_feats, cfg.pr_k)
    # the headline is recall: precision alone is maximised by a generator that collapses
    return {"value": r, "precision": p, "recall": r, "k": cfg.pr_k}


register(Metric("pr", "precision / recall", frozenset({"inception"}), _compute,
                lambda r: f"precision {r['precision']:.3f}, recall {r['recall']:.3f}  (k={r['k']})",
                lower_is_better=False, log_fields=(("precision", "precision"), ("recall", "recall"))))

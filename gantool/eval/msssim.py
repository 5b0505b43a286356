"""MS-SSIM diversity (the HDCGAN report, after Odena et al. 2017): the mean multi-scale SSIM of
random pairs of images from one set. Lower means more diverse; compare with the same number
on real data.

tf.image.ssim_multiscale with filter_size 8 (the default 11 needs >= 161 px for 5 scales;
DESIGN.md). Images smaller than 8 * 2^4 = 128 px use fewer scales: the largest count with
side / 2^(scales-1) >= 8, with the standard power factors cut to that count and renormalised.
"""

from __future__ import annotations

import numpy as np

from gantool.eval.metric import Metric, register
from gantool.tfquiet import import_tf

POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
FILTER = 8


def scales_for(side: int) -> tuple[float, ...]:
    n = len(POWER_FACTORS)
    while n > 1 and side / 2 ** (n - 1) < FILTER:
        n -= 1
    if side < FILTER:
        raise ValueError(f"MS-SSIM needs images of at least {FILTER} px, got {side}")
    w = np.asarray(POWER_FACTORS[:n])
    return tuple(float(x) for x in w / w.sum())


def random_pairs(n_images: int, n_pairs: int, seed: int = 0) -> np.ndarray:
    """(n_pairs, 2) indices of distinct images."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_images, n_pairs)
    b = (a + rng.integers(1, n_images, n_pairs)) % n_images
    return np.stack([a, b], axis=1)


def mean_msssim(images: np.ndarray, pairs: int = 10000, seed: int = 0, batch: int = 500) -> float:
    """Mean MS-SSIM over `pairs` random pairs of distinct images (uint8 NHWC)."""
    tf = import_tf()
    if len(images) < 2:
        raise ValueError("MS-SSIM diversity needs at least 2 images")
    factors = scales_for(images.shape[1])
    idx = random_pairs(len(images), pairs, seed)

    @tf.function(reduce_retracing=True, autograph=False)
    def score(a, b):
        return tf.image.ssim_multiscale(tf.cast(a, tf.float32), tf.cast(b, tf.float32), 255.0,
                                        power_factors=factors, filter_size=FILTER)

    total = 0.0
    for i in range(0, len(idx), batch):
        j = idx[i:i + batch]
        total += float(tf.reduce_sum(score(images[j[:, 0]], images[j[:, 1]])))
    return total / len(idx)


def _compute(x, cfg) -> dict:
    fake = mean_msssim(x.fake_ms, cfg.pairs, cfg.seed)
    real = mean_msssim(x.real_ms, cfg.pairs, cfg.seed) if x.real_ms is not None and len(x.real_ms) > 1 else None
    return {"value": fake, "fake": fake, "real": real, "pairs": cfg.pairs, "size": int(x.fake_ms.shape[1]),
            "images": int(len(x.fake_ms)), "real_images": int(len(x.real_ms)) if x.real_ms is not None else 0}


def _summary(r: dict) -> str:
    real = f", real data {r['real']:.4f}" if r.get("real") is not None else ""
    return f"{r['fake']:.4f}{real}  ({r['pairs']} pairs at {r['size']} px; lower = more diverse)"


register(Metric("msssim", "MS-SSIM diversity", frozenset({"pixels"}), _compute, _summary,
                log_fields=(("real", "real_value"),)))

"""A cheap running quality signal: the Frechet distance between Gaussians fitted to real and
generated images shrunk to 8x8 pixels ("pfd8").

It is FID's formula (Heusel et al. 2017) on 8x8xC box-filtered pixels instead of Inception
features: blind to fine detail, but it sees the overall layout, contrast and diversity that a
GAN learns first, costs milliseconds and needs no weights. It ranks checkpoints ("best") and
is what the learning test watches. Not comparable with FID.
"""

from __future__ import annotations

import numpy as np

from gantool.eval.fid import frechet, stats  # noqa: F401  (stats is part of this module's API)
from gantool.images import downscale_area

PFD_SIDE = 8


def features(images_uint8: np.ndarray, side: int = PFD_SIDE) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, side*side*C) float64 in [0, 1] (side <= H)."""
    return flat(downscale_area(images_uint8, min(side, images_uint8.shape[1])))


def flat(small: np.ndarray) -> np.ndarray:
    """Box-filtered pixel values (N, side, side, C), 0..255 -> (N, side*side*C) float64 in [0, 1]."""
    return (small / 255.0).reshape(len(small), -1).astype(np.float64)


def real_stats(ds, limit: int = 2048, side: int = PFD_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """Stats of up to `limit` real images at side x side, evenly from each shard (only those
    images are read, not whole shards)."""
    shards = ds.manifest["shards"]
    per = max(1, limit // max(1, len(shards)))
    feats = []
    for i, shard in enumerate(shards):
        count = int(shard["count"])
        idx = np.linspace(0, count - 1, num=min(per, count)).astype(int)
        reader = ds.shard_reader(i)
        try:
            feats.append(features(reader.take(idx), side))
        finally:
            reader.close()
    return stats(np.concatenate(feats, axis=0))


def pfd(images_uint8: np.ndarray, real: tuple[np.ndarray, np.ndarray]) -> float:
    mu, s = stats(features(images_uint8))
    return frechet(mu, s, real[0], real[1])


def pfd_small(small: np.ndarray, real: tuple[np.ndarray, np.ndarray]) -> float:
    """pfd of images already box-filtered to real's side (pixel values 0..255), as the training
    segment's generate_small returns them."""
    mu, s = stats(flat(small))
    return frechet(mu, s, real[0], real[1])

"""Sampling's pure parts: z samplers, --seeds parsing and latent interpolation (no TensorFlow).
Loading a generator lives in gantool.run.generator; writing samples in gantool.sample_run.

Which z: a model trained on uniform z (the default) is sampled from U(-r, r)^d with
r = --zrange (1 = the training range; the megapixel report cut artefacts with 0.4). A model
trained on normal z is sampled from N(0, 1)^d, truncated with --truncation T: every component
with |z| > T is redrawn until none is (the "truncation trick" of BigGAN). Each image's z comes
from its own seed (--seeds) or from (--seed, index), so one image never depends on how many
others are drawn with it.
"""

from __future__ import annotations

import re

import numpy as np

from gantool.errors import UsageError


def parse_seeds(text: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7] (order kept, ranges inclusive)."""
    out: list[int] = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise UsageError(f"--seeds: {part!r} is not N or A-B (e.g. 0-35,42)")
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        if b < a:
            raise UsageError(f"--seeds: range {part!r} runs backwards")
        if b - a > 10_000_000:
            raise UsageError(f"--seeds: range {part!r} is too long")
        out.extend(range(a, b + 1))
    if not out:
        raise UsageError("--seeds: no seeds given")
    return out


def draw_z(rng: np.random.Generator, z_dim: int, latent: str, zrange: float | None, truncation: float | None) -> np.ndarray:
    """One latent vector (float32) for a model trained on `latent` z."""
    if latent == "uniform":
        r = 1.0 if zrange is None else zrange
        return rng.uniform(-r, r, z_dim).astype(np.float32)
    z = rng.standard_normal(z_dim)
    if truncation is not None:
        bad = np.abs(z) > truncation
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > truncation
    return z.astype(np.float32)


def z_for(seed: int, index: int | None, z_dim: int, latent: str, zrange=None, truncation=None) -> np.ndarray:
    """z of image `index` under --seed `seed`, or (index None) of --seeds entry `seed`."""
    rng = np.random.default_rng(seed if index is None else [seed, index])
    return draw_z(rng, z_dim, latent, zrange, truncation)


def interpolate(a: np.ndarray, b: np.ndarray, t: float, latent: str) -> np.ndarray:
    """Linear for uniform z (stays inside the cube), spherical (slerp) for normal z."""
    if latent == "uniform":
        return ((1 - t) * a + t * b).astype(np.float32)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    omega = np.arccos(cos)
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)

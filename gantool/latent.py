"""z: the one sampler of latent vectors, shared by training, sampling, eval and export.

Pure and light (numpy, imported inside the functions so `gantool --help` stays lean; no
TensorFlow), so gantool.train and gantool.sample both import it
without importing each other. A model is trained on `latent` z: uniform in [-1, 1] or standard
normal (--latent). `draw` takes its numbers from a *source* with `normal(shape)` and
`uniform(shape, lo, hi)`: numpy's Generator through NumpySource (sample grids, pfd8, `gantool
sample`), or the train step's stateless TensorFlow draws (gantool.train.draws.Draws). Which
numbers come out, and in which order, is fixed: resumed runs and sample files compare bytes.

Sampling a trained model: uniform-z models from U(-r, r) with r = --zrange (1 = the training
range); normal-z models from N(0, 1), truncated with --truncation T: every component with
|z| > T is redrawn until none is (BigGAN's truncation trick). Image i of --seed S uses the
generator seeded [S, i], an entry S of --seeds the generator seeded S, so one image never
depends on how many others are drawn with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: config.py imports LATENTS for `--help`
    import numpy as np

LATENTS = ("uniform", "normal")
FIXED_STREAM_TAG = 7919  # fixed_latents' generator is seeded [seed, FIXED_STREAM_TAG, stream]


class NumpySource:
    """numpy's Generator as a source for `draw`."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def normal(self, shape):
        return self.rng.standard_normal(shape)

    def uniform(self, shape, lo, hi):
        return self.rng.uniform(lo, hi, shape)


def draw(source, shape, latent: str, zrange: float | None = None):
    """z of `shape` for a model trained on `latent` z; uniform z within [-zrange, zrange]
    (default the training range [-1, 1])."""
    if latent == "normal":
        return source.normal(shape)
    r = 1.0 if zrange is None else zrange
    return source.uniform(shape, -r, r)


def truncate(rng: np.random.Generator, z: np.ndarray, truncation: float) -> np.ndarray:
    """Redraw (in place) every component of normal z with |z| > truncation until none is."""
    import numpy as np  # noqa: PLC0415

    bad = np.abs(z) > truncation
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > truncation
    return z


def draw_z(rng: np.random.Generator, z_dim: int, latent: str, zrange: float | None, truncation: float | None) -> np.ndarray:
    """One latent vector (float32) for a model trained on `latent` z."""
    import numpy as np  # noqa: PLC0415

    z = draw(NumpySource(rng), z_dim, latent, zrange)
    if latent == "normal" and truncation is not None:
        z = truncate(rng, z, truncation)
    return z.astype(np.float32)


def z_for(seed: int, index: int | None, z_dim: int, latent: str, zrange=None, truncation=None) -> np.ndarray:
    """z of image `index` under --seed `seed`, or (index None) of --seeds entry `seed`."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed if index is None else [seed, index])
    return draw_z(rng, z_dim, latent, zrange, truncation)


def fixed_latents(seed: int, stream: int, n: int, z_dim: int, latent: str) -> np.ndarray:
    """A training run's fixed z (stream 0: sample grids, 1: pfd8), a pure function of (seed, stream)."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng([int(seed), FIXED_STREAM_TAG, stream])
    return draw(NumpySource(rng), (n, z_dim), latent).astype(np.float32)


def interpolate(a: np.ndarray, b: np.ndarray, t: float, latent: str) -> np.ndarray:
    """Linear for uniform z (stays inside the cube), spherical (slerp) for normal z."""
    import numpy as np  # noqa: PLC0415

    if latent == "uniform":
        return ((1 - t) * a + t * b).astype(np.float32)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    omega = np.arccos(cos)
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)

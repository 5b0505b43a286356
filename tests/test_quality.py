"""pfd8: the Frechet distance used as the cheap running quality signal."""

import numpy as np
import pytest
from scipy import linalg

from gantool.train import quality


def literal_frechet(m1, s1, m2, s2):
    """Heusel et al.'s formula, transcribed: ||m1-m2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2))."""
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_matches_the_literal_formula(seed):
    r = np.random.default_rng(seed)
    a = r.normal(size=(80, 6))
    b = r.normal(size=(70, 6)) @ r.normal(size=(6, 6)) * 0.7 + r.normal(size=6)
    s = quality.stats(a), quality.stats(b)
    assert quality.frechet(*s[0], *s[1]) == pytest.approx(literal_frechet(*s[0], *s[1]), rel=1e-7, abs=1e-9)


def test_frechet_of_1d_gaussians_and_of_identical_stats():
    # one dimension: (m1 - m2)^2 + (sd1 - sd2)^2
    assert quality.frechet(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[1.0]])) == pytest.approx(9 + 1)
    x = np.random.default_rng(3).integers(0, 256, (64, 16, 16, 1), dtype=np.uint8)
    st = quality.stats(quality.features(x))
    assert abs(quality.pfd(x, st)) < 1e-6


def test_pfd_orders_noise_far_from_data_and_a_shifted_copy_near():
    r = np.random.default_rng(4)
    base = np.zeros((200, 16, 16, 1), np.uint8)
    for i in range(200):  # bright squares at random places: structured "data"
        y, x = r.integers(0, 10, 2)
        base[i, y:y + 6, x:x + 6] = 255
    real = quality.stats(quality.features(base))
    noise = r.integers(0, 256, base.shape, dtype=np.uint8)
    similar = base[::-1].copy()
    assert quality.pfd(similar, real) < 0.2 * quality.pfd(noise, real)

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


def test_training_pfd8_shrinks_on_the_device_as_on_the_host():
    """The training loop's pfd8 box-filters each generated batch before it leaves the model's
    device (Segment.generate_small, gantool.images.shrink_pixels); the values are what the host
    path makes of generate's uint8 images: rounding, clipping and NaN -> 128 included. A
    resolution that 8 does not divide (28 px, the MNIST report's) takes the host path."""
    from gantool.images import downscale_area
    from gantool.train.segments import Segment
    from tfhelpers import tf

    t = tf()
    rng = np.random.default_rng(5)
    n = 200  # > the 4x4x3 = 48 features, so the covariances (and the distance) are well conditioned
    for res, side in ((32, 8), (32, 4), (28, 8)):
        outputs = rng.uniform(-1.3, 1.3, (n, res, res, 3)).astype(np.float32)
        outputs[3, 5, 7, 1] = np.nan
        outputs[4, :4, :4, :] = 0.0  # (0 + 1) * 127.5: a tie, which both paths round to even (128)
        seg = Segment()
        seg.res = res
        seg.sampler = lambda z, training: t.constant(outputs[z[:, 0].astype(int)])
        z = np.arange(n, dtype=np.float32)[:, None]
        host = downscale_area(seg.generate(z, 1.0), side)
        small = seg.generate_small(z, 1.0, side)
        assert small.shape == (n, side, side, 3) and np.abs(small - host).max() < 1e-3, (res, side)
        if (res, side) == (32, 4):
            real = quality.stats(quality.features(rng.integers(0, 256, (300, 4, 4, 3), dtype=np.uint8)))
            # quality.pfd(images) is pfd_small of the host path's images at 8 px; here at 4
            assert quality.pfd_small(small, real) == pytest.approx(quality.pfd_small(host, real), rel=1e-6)

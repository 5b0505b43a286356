"""FID, KID and precision/recall against literal transcriptions of their reference formulas."""

import numpy as np
import pytest
from scipy import linalg

from gantool.eval import fid, kid, prdc


def test_fid_matches_scipy_sqrtm_formula_and_is_zero_on_itself():
    r = np.random.default_rng(0)
    a = r.normal(size=(300, 8))
    b = r.normal(size=(250, 8)) @ r.normal(size=(8, 8)) * 0.5 + 1.0
    m1, s1, m2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    literal = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert fid.fid(a, b) == pytest.approx(literal, rel=1e-8)
    assert abs(fid.fid(a, a)) < 1e-8
    # fewer samples than dimensions: singular covariances, still finite and >= 0
    assert 0 <= fid.fid(r.normal(size=(5, 20)), r.normal(size=(6, 20))) < np.inf


@pytest.mark.parametrize("n1, n2", [(40, 24), (24, 40), (30, 30), (3, 500)])
def test_fid_in_the_samples_space_equals_the_covariance_formula(n1, n2):
    """Fewer samples than dimensions (as a small eval's 2048-d features): fid() works on the
    samples (n x n matrices) and must give what the d x d covariances give."""
    r = np.random.default_rng(n1 * 1000 + n2)
    a = r.normal(size=(n1, 64)) @ r.normal(size=(64, 64))
    b = r.normal(size=(n2, 64)) * 2.0 + 0.5
    assert n1 * n2 < (n1 + n2) * 64  # the samples' path is the one taken
    # the d x d routes take square roots of the covariances' zero eigenvalues as computed (~1e-13,
    # roots ~1e-7 each) and land about 1e-8 lower (seen: 5e-9 to 1.3e-8 relative)
    want = fid.frechet(*fid.stats(a), *fid.stats(b))
    assert fid.frechet_of_samples(a, b) == pytest.approx(want, rel=1e-7)
    assert fid.fid(a, b) == fid.frechet_of_samples(a, b)
    m1, s1, m2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    literal = ((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert fid.fid(a, b) == pytest.approx(literal, rel=1e-7)
    other = r.normal(size=(n2, 64))  # and it is a distance between the sets: not a constant
    assert abs(fid.fid(a, other) - fid.fid(a, b)) > 1.0


def literal_mmd2(x, y):
    """Transcribed loop by loop from Binkowski et al. (2018), eq. 2, with k = (x.y/d + 1)^3."""
    d = x.shape[1]
    k = lambda u, v: (u @ v / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    sxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    syy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    sxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return sxx + syy - 2 * sxy


def test_kid_unbiased_estimator_matches_the_literal_sum():
    r = np.random.default_rng(1)
    x, y = r.normal(size=(12, 5)), r.normal(size=(9, 5)) + 0.3
    assert kid.mmd2_unbiased(x, y) == pytest.approx(literal_mmd2(x, y), rel=1e-10)
    same = r.normal(size=(400, 5))
    mean, std = kid.kid(same[:200], same[200:], subsets=20, subset_size=100)
    assert abs(mean) < 0.05 and std > 0  # unbiased: ~0 for one distribution
    far, _ = kid.kid(same, same + 2.0, subsets=5, subset_size=100)
    assert far > 1.0


def test_precision_recall_on_sets_with_known_overlap():
    r = np.random.default_rng(2)
    real = r.normal(size=(500, 2))
    p, rec = prdc.precision_recall(real, r.normal(size=(500, 2)))
    assert p > 0.8 and rec > 0.8
    # a collapsed generator: precise (inside the data) but covering little of it
    collapsed = r.normal(size=(500, 2)) * 0.05
    p, rec = prdc.precision_recall(real, collapsed)
    assert p > 0.95 and rec < 0.3
    # a generator off the data: neither
    p, rec = prdc.precision_recall(real, r.normal(size=(500, 2)) + 10)
    assert p == 0.0 and rec == 0.0


def test_knn_radii_by_hand():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    # squared distance to the 2nd nearest other point
    np.testing.assert_allclose(prdc.knn_radii(x, 2), [9.0, 4.0, 9.0, 36.0])


def test_msssim_scales_and_pairs():
    from gantool.eval import msssim

    assert len(msssim.scales_for(128)) == 5 and len(msssim.scales_for(32)) == 3 and len(msssim.scales_for(8)) == 1
    assert sum(msssim.scales_for(16)) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        msssim.scales_for(4)
    p = msssim.random_pairs(5, 1000, seed=1)
    assert (p[:, 0] != p[:, 1]).all() and p.min() >= 0 and p.max() <= 4


def test_msssim_diversity_orders_copies_noise_and_matches_tf_per_pair():
    from gantool.eval import msssim
    from tfhelpers import tf

    t = tf()
    r = np.random.default_rng(3)
    base = r.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    copies = np.repeat(base, 6, axis=0)
    noise = r.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    assert msssim.mean_msssim(copies, pairs=50) == pytest.approx(1.0, abs=1e-5)
    low = msssim.mean_msssim(noise, pairs=50, seed=4)
    assert low < 0.2
    pairs = msssim.random_pairs(6, 50, seed=4)
    manual = np.mean([float(t.image.ssim_multiscale(t.cast(noise[a], t.float32), t.cast(noise[b], t.float32), 255.0,
                                                      power_factors=msssim.scales_for(32), filter_size=8))
                      for a, b in pairs])
    assert low == pytest.approx(manual, rel=1e-4)  # float32: batched vs one pair at a time

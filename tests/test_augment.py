"""DiffAugment-style transforms: shapes kept, values as each transform promises, RNG-driven."""

import numpy as np
import pytest

from gantool.train.augment import augment
from tfhelpers import tf


def batch(n=16, side=8, ch=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, side, side, ch)).astype(np.float32)


@pytest.mark.parametrize("policy", ["flip", "translate", "color", "flip,translate,color"])
def test_shape_dtype_and_reproducible_by_seed(policy):
    t = tf()
    x = batch()
    a = augment(t.constant(x), policy, t.random.Generator.from_seed(1)).numpy()
    b = augment(t.constant(x), policy, t.random.Generator.from_seed(1)).numpy()
    assert a.shape == x.shape and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, x)


def test_flip_mirrors_or_keeps_each_image():
    t = tf()
    x = batch(32)
    y = augment(t.constant(x), "flip", t.random.Generator.from_seed(3)).numpy()
    flipped = [np.array_equal(y[i], x[i, :, ::-1]) for i in range(32)]
    kept = [np.array_equal(y[i], x[i]) for i in range(32)]
    assert all(f or k for f, k in zip(flipped, kept)) and 4 < sum(flipped) < 28


def test_translate_shifts_content_with_zero_fill():
    t = tf()
    x = batch(32, side=16, ch=1) * 0.5 + 0.5 + 0.1  # strictly positive, so the fill is visible
    y = augment(t.constant(x), "translate", t.random.Generator.from_seed(4)).numpy()
    for i in range(32):
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = np.zeros_like(x[i])
                src = x[i][max(0, -dy):16 - max(0, dy), max(0, -dx):16 - max(0, dx)]
                shifted[max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
                found |= np.allclose(shifted, y[i])
        assert found, f"image {i} is not a shift of its input by <= 2 px"


def test_augment_is_differentiable():
    t = tf()
    x = t.Variable(batch(4))
    with t.GradientTape() as tape:
        y = t.reduce_sum(augment(x, "flip,translate,color", t.random.Generator.from_seed(0)))
    g = tape.gradient(y, x)
    assert g is not None and np.isfinite(g.numpy()).all() and np.abs(g.numpy()).sum() > 0

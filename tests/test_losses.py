"""Pure losses and penalties against values worked out by hand (numpy transcriptions)."""

import math

import numpy as np
import pytest

from gantool.models import losses
from tfhelpers import tf

R = np.array([[2.0], [-1.0], [0.5]], np.float32)   # D scores on real images
F = np.array([[-3.0], [0.0], [1.5]], np.float32)   # D scores on generated images


def sp(x):
    return math.log1p(math.exp(x))


def mean(xs):
    return sum(xs) / len(xs)


HAND_D = {
    "bce": mean([sp(-2.0), sp(1.0), sp(-0.5)]) + mean([sp(-3.0), sp(0.0), sp(1.5)]),
    "lsgan": 0.5 * mean([1.0, 4.0, 0.25]) + 0.5 * mean([9.0, 0.0, 2.25]),
    "wgan-gp": mean([-3.0, 0.0, 1.5]) - mean([2.0, -1.0, 0.5]),
    "hinge": mean([0.0, 2.0, 0.5]) + mean([0.0, 1.0, 2.5]),
}
HAND_G = {
    "bce": mean([sp(3.0), sp(0.0), sp(-1.5)]),
    "lsgan": 0.5 * mean([16.0, 1.0, 0.25]),
    "wgan-gp": -mean([-3.0, 0.0, 1.5]),
    "hinge": -mean([-3.0, 0.0, 1.5]),
}


@pytest.mark.parametrize("kind", losses.LOSSES)
def test_d_and_g_loss_match_hand_values(kind):
    tf()
    assert float(losses.d_loss(kind, R, F)) == pytest.approx(HAND_D[kind], rel=1e-6)
    assert float(losses.g_loss(kind, F)) == pytest.approx(HAND_G[kind], rel=1e-6)


def test_bce_is_stable_for_huge_scores():
    tf()
    d = float(losses.d_loss("bce", np.array([1e4], np.float32), np.array([-1e4], np.float32)))
    g = float(losses.g_loss("bce", np.array([-1e4], np.float32)))
    assert d == pytest.approx(0.0, abs=1e-6) and g == pytest.approx(1e4, rel=1e-6)


def test_unknown_loss_is_refused():
    tf()
    with pytest.raises(ValueError):
        losses.d_loss("wasserstein", R, F)


def test_gradient_penalty_r1_and_drift_by_hand():
    tf()
    g = np.zeros((2, 2, 2, 1), np.float32)
    g[0, 0, 0, 0], g[0, 1, 1, 0] = 3.0, 4.0   # norm 5
    g[1, 0, 1, 0] = 0.5                        # norm 0.5
    assert float(losses.gradient_penalty(g)) == pytest.approx(((5 - 1) ** 2 + (0.5 - 1) ** 2) / 2, rel=1e-5)
    assert float(losses.r1_penalty(g)) == pytest.approx((25 + 0.25) / 2, rel=1e-6)
    assert float(losses.drift(R)) == pytest.approx((4 + 1 + 0.25) / 3, rel=1e-6)


def test_penalties_from_real_gradients_of_a_linear_critic():
    """D(x) = <w, x>: its input gradient is w everywhere, so GP = (|w| - 1)^2 and R1 = |w|^2."""
    t = tf()
    w = t.constant(np.full((1, 3, 3, 1), 0.5, np.float32))  # |w| = 1.5
    x = t.constant(np.random.default_rng(0).normal(size=(4, 3, 3, 1)).astype(np.float32))
    with t.GradientTape() as tape:
        tape.watch(x)
        s = t.reduce_sum(x * w)
    grads = tape.gradient(s, x)
    assert float(losses.gradient_penalty(grads)) == pytest.approx(0.25, rel=1e-5)
    assert float(losses.r1_penalty(grads)) == pytest.approx(2.25, rel=1e-5)

"""Adaptive discriminator augmentation (gantool.train.ada): the transforms against numpy, the
exactness of p = 0, determinism from the step seed, gradients, and the p controller."""

import numpy as np
import pytest

from tfhelpers import tf


def draws(seed=1, step=0, n=8):
    from gantool.train.draws import Draws, step_key

    return Draws(step_key(seed, step, 1), 0, n)


def images(n=8, size=8, channels=3, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype(np.float32)


def run(x, p, ops=None, seed=1, step=0):
    from gantool.train.ada import BGC, augment

    return np.asarray(augment(tf().constant(x), p, draws(seed, step, len(x)), ops or BGC))


@pytest.mark.parametrize("channels", [1, 3])
def test_p0_is_exactly_the_identity_and_p1_changes_every_image(channels):
    x = images(channels=channels)
    np.testing.assert_array_equal(run(x, 0.0), x)
    y = run(x, 1.0)
    assert all(np.abs(y[i] - x[i]).max() > 1e-3 for i in range(len(x)))


@pytest.mark.parametrize("size,channels", [(8, 1), (8, 3), (16, 1), (12, 3)])
def test_shape_and_dtype_are_preserved(size, channels):
    x = images(n=4, size=size, channels=channels)
    y = run(x, 0.7)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()


def test_xflip_alone_mirrors_exactly_like_numpy():
    x = images(n=32)
    y = run(x, 1.0, ("xflip",))
    flipped = [np.array_equal(y[i], x[i, :, ::-1]) for i in range(len(x))]
    kept = [np.array_equal(y[i], x[i]) for i in range(len(x))]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 0 < sum(flipped) < len(x)  # applied to every image, each mirrors with probability 1/2


def test_rot90_alone_matches_numpy_rot90_and_uses_all_four_angles():
    x = images(n=32, channels=1)
    y = run(x, 1.0, ("rotate90",))
    ks = set()
    for i in range(len(x)):
        match = [k for k in range(4) if np.array_equal(y[i], np.rot90(x[i], k, axes=(0, 1)))]
        assert len(match) == 1, i
        ks.add(match[0])
    assert ks == {0, 1, 2, 3}


def test_integer_translation_alone_is_a_whole_pixel_shift_with_reflect_padding():
    size, pad = 16, 2  # 0.125 * 16 = 2 pixels at most
    x = images(n=16, size=size, channels=3)
    y = run(x, 1.0, ("xint",))
    shifts = set()
    for i in range(len(x)):
        padded = np.pad(x[i], ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        match = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                 if np.array_equal(y[i], padded[pad - dy:pad - dy + size, pad - dx:pad - dx + size])]
        assert match, i
        shifts.add(match[0])
    assert len(shifts) > 3


def test_grey_luma_flip_negates_and_hue_saturation_leave_grey_rgb_unchanged():
    x = images(n=16, channels=1)
    y = run(x, 1.0, ("lumaflip",))
    neg = [np.array_equal(y[i], -x[i]) for i in range(len(x))]
    assert all(n or np.array_equal(y[i], x[i]) for i, n in enumerate(neg)) and 0 < sum(neg) < len(x)
    grey_rgb = np.repeat(x, 3, axis=-1)
    np.testing.assert_allclose(run(grey_rgb, 1.0, ("hue", "saturation")), grey_rgb, atol=2e-6)
    colourful = images(n=16, channels=3)
    assert np.abs(run(colourful, 1.0, ("hue",)) - colourful).max() > 0.1


def test_brightness_shifts_all_channels_by_the_same_amount():
    x = images(n=8, channels=3)
    d = run(x, 1.0, ("brightness",)) - x
    np.testing.assert_allclose(d, np.broadcast_to(d[:, :1, :1, :1], d.shape), atol=1e-6)
    assert d[:, 0, 0, 0].std() > 0.05


def test_gradients_flow_to_the_input_images():
    t = tf()
    from gantool.train.ada import augment

    x = t.Variable(images(n=4, channels=3))
    weights = t.constant(np.random.default_rng(5).normal(size=x.shape).astype(np.float32))
    with t.GradientTape() as tape:
        loss = t.reduce_sum(augment(x, 1.0, draws(n=4)) * weights)
    g = np.asarray(tape.gradient(loss, x))
    assert np.isfinite(g).all() and np.abs(g).sum() > 0 and (np.abs(g).reshape(4, -1).max(axis=1) > 0).all()


def test_inside_a_tf_function_with_a_variable_p_it_matches_eager():
    t = tf()
    from gantool.train.ada import augment

    x = t.constant(images(n=4, size=16))
    p = t.Variable(0.6)
    graph = t.function(lambda x: augment(x, p, draws(n=4)))
    np.testing.assert_allclose(np.asarray(graph(x)), np.asarray(augment(x, p, draws(n=4))), atol=1e-6)


def test_same_seed_and_step_give_identical_output_other_seed_or_step_differ():
    x = images(n=8)
    a, b = run(x, 0.8, seed=3, step=7), run(x, 0.8, seed=3, step=7)
    np.testing.assert_array_equal(a, b)
    assert np.abs(run(x, 0.8, seed=4, step=7) - a).max() > 1e-3
    assert np.abs(run(x, 0.8, seed=3, step=8) - a).max() > 1e-3


def test_at_p_half_about_half_the_images_get_a_transform():
    """Each transform is applied with probability p. Brightness changes every image it is applied
    to, so about p of them change; an applied x-flip mirrors with probability 1/2 (the paper's
    i ~ U{0, 1}), so about p/2 of the images come out mirrored."""
    n = 2000
    x = images(n=n, channels=1)
    changed = np.abs(run(x, 0.5, ("brightness",)) - x).reshape(n, -1).max(axis=1) > 0
    assert abs(changed.mean() - 0.5) < 0.05
    y = run(x, 0.5, ("xflip",))
    mirrored = np.array([not np.array_equal(y[i], x[i]) for i in range(n)])
    assert abs(mirrored.mean() - 0.25) < 0.04


def test_unknown_transform_is_refused():
    with pytest.raises(ValueError, match="cutout"):
        run(images(n=2), 0.5, ("xflip", "cutout"))


def test_controller_raises_p_above_target_and_lowers_it_floored_at_zero():
    from gantool.train.ada import adjust_p

    step = 32 * 4 / (500 * 1000)  # batch 32, interval 4, ada_kimg 500
    assert adjust_p(0.1, 0.9, 32 * 4) == pytest.approx(0.1 + step)
    assert adjust_p(0.1, 0.2, 32 * 4) == pytest.approx(0.1 - step)
    assert adjust_p(0.0, 0.2, 32 * 4) == 0.0
    assert adjust_p(1.0, 0.9, 32 * 4) == 1.0
    assert adjust_p(0.3, 0.6, 32 * 4) == 0.3
    assert adjust_p(0.0, 0.7, 1000, target=0.6, ada_kimg=1) == 1.0  # one kimg per full swing
    p = 0.0
    for _ in range(10):
        p = adjust_p(p, 1.0, 128)
    assert p == pytest.approx(10 * step)

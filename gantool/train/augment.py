"""Differentiable augmentation for D (after Zhao et al. 2020, "DiffAugment"): the same random
transforms are applied to real and generated images before D sees them, in both the D and the
G update, so G gets gradients through them and D cannot memorise a small training set.

Policies (comma list): flip (horizontal, p=0.5), translate (shift by up to 1/8 of the side,
zero fill), color (brightness +-0.5, saturation x[0, 2] on RGB, contrast x[0.5, 1.5]).
Images are float [-1, 1] NHWC; randomness comes from the run's tf.random.Generator, so the
transforms are part of the checkpointed RNG stream.
"""

from __future__ import annotations

from gantool.images import batch_rows


def augment(x, policy: str, rng):
    import tensorflow as tf  # noqa: PLC0415

    for name in [p for p in policy.split(",") if p]:
        if name == "flip":
            x = _flip(tf, x, rng)
        elif name == "translate":
            x = _translate(tf, x, rng)
        elif name == "color":
            x = _color(tf, x, rng)
        else:
            raise ValueError(f"unknown augmentation {name!r}")
    return x


def _flip(tf, x, rng):
    n = batch_rows(x)
    mask = rng.uniform([n, 1, 1, 1]) < 0.5
    return tf.where(mask, tf.reverse(x, axis=[2]), x)


def _translate(tf, x, rng, ratio: float = 0.125):
    n, h, w = batch_rows(x), x.shape[1], x.shape[2]
    ph, pw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = rng.uniform([n], 0, 2 * ph + 1, dtype=tf.int32)  # offset into the padded image, 0..2p
    dx = rng.uniform([n], 0, 2 * pw + 1, dtype=tf.int32)
    xp = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]])
    iy = tf.range(h)[None, :] + dy[:, None]
    ix = tf.range(w)[None, :] + dx[:, None]
    x = tf.gather(xp, iy, axis=1, batch_dims=1)
    return tf.gather(x, ix, axis=2, batch_dims=1)


def _color(tf, x, rng):
    n = batch_rows(x)
    x = x + (rng.uniform([n, 1, 1, 1]) - 0.5)
    if x.shape[-1] == 3:
        mean = tf.reduce_mean(x, axis=3, keepdims=True)
        x = (x - mean) * (rng.uniform([n, 1, 1, 1]) * 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (rng.uniform([n, 1, 1, 1]) + 0.5) + mean

"""StyleGAN2 training pieces as pure functions, for the engine's step to call (Karras et al.
2020; the schedule and 'auto' heuristics of stylegan2-ada, Karras et al. 2020b):

- lazy R1 every 16 D minibatches: loss += r1_penalty(D, real) * gamma / 2 * 16, with
  gamma = r1_gamma_auto(resolution, batch) = 0.0002 * resolution^2 / batch unless --r1 is given;
- path length regularisation every 4 G minibatches (on half the batch in the paper): loss +=
  penalty * 2 * 4, penalty = (|J_w^T y| - a)^2 with y ~ N(0, I) / sqrt(H * W) and a the running
  mean of the lengths (decay 0.01, kept in the checkpoint);
- lazy regularisation changes Adam: lr * c and beta^c with c = interval / (interval + 1);
- style mixing with probability 0.9: each row's ws switch from w(z1) to w(z2) at a cutoff drawn
  from U{1, ..., num_ws - 1} (per row, so a row's draws do not depend on how the batch is split;
  the paper draws one cutoff per minibatch);
- G EMA by half-life: beta = 0.5 ** (batch / max(half-life images, 1e-8)), half-life =
  ema_kimg * 1000 images, during ramp-up at most `rampup` times the images seen so far
  (ema_kimg 'auto' = batch * 10 / 32, rampup 0.05).
Randomness comes from `draws` (gantool.train.draws.Draws interface).
"""

from __future__ import annotations

from gantool.images import batch_rows
from gantool.models.stylegan2 import mix_styles

R1_INTERVAL, PL_INTERVAL = 16, 4
PL_WEIGHT, PL_DECAY = 2.0, 0.01
STYLE_MIXING = 0.9
EMA_RAMPUP = 0.05


def r1_gamma_auto(resolution: int, batch: int) -> float:
    return 0.0002 * resolution ** 2 / batch


def ema_kimg_auto(batch: int) -> float:
    return batch * 10 / 32


def ema_beta(batch: int, images_seen, ema_kimg: float, rampup: float | None = EMA_RAMPUP):
    """Decay of G's EMA for one step of `batch` images after `images_seen` (float or tensor)."""
    half = ema_kimg * 1000.0
    if rampup is not None:
        half = _min(half, images_seen * rampup)
    return 0.5 ** (batch / _max(half, 1e-8))


def _min(a, b):
    try:
        return min(a, b)
    except TypeError:  # a tensor
        import tensorflow as tf  # noqa: PLC0415

        return tf.minimum(tf.cast(a, tf.float32), tf.cast(b, tf.float32))


def _max(a, b):
    try:
        return max(a, b)
    except TypeError:
        import tensorflow as tf  # noqa: PLC0415

        return tf.maximum(tf.cast(a, tf.float32), tf.cast(b, tf.float32))


def lazy_adam(lr: float, beta1: float, beta2: float, interval: int) -> tuple[float, float, float]:
    """Adam settings for a network regularised every `interval` minibatches."""
    c = interval / (interval + 1)
    return lr * c, beta1 ** c, beta2 ** c


def r1_penalty(D, real):
    """(N,): sum over pixels and channels of (d sum D(real) / d real)^2, per image."""
    import tensorflow as tf  # noqa: PLC0415

    with tf.GradientTape() as tape:
        tape.watch(real)
        score = tf.reduce_sum(D(real))
    g = tape.gradient(score, real)
    return tf.reduce_sum(tf.square(g), axis=[1, 2, 3])


def mixed_ws(mapping, z, num_ws: int, draws, prob: float = STYLE_MIXING, training: bool = True):
    """ws (N, num_ws, w_dim) of w(z), each row switching to w(z2) (z2 fresh N(0, I)) at a cutoff
    U{1, ..., num_ws - 1} with probability `prob` (no switch otherwise)."""
    import tensorflow as tf  # noqa: PLC0415

    n = batch_rows(z)
    z2 = draws.normal_like(z)
    u = draws.uniform([n], 0.0, 1.0)
    cut = 1.0 + tf.floor(draws.uniform([n], 0.0, 1.0) * (num_ws - 1))
    cut = tf.where(u < prob, tf.minimum(cut, num_ws - 1.0), float(num_ws))
    ws1 = tf.repeat(mapping(z, training=training)[:, None], num_ws, axis=1)
    ws2 = tf.repeat(mapping(z2, training=False)[:, None], num_ws, axis=1)  # w_avg: one update per call
    return mix_styles(ws1, ws2, tf.cast(cut, tf.int32))


def path_length(synthesis, ws, draws, pl_mean, decay: float = PL_DECAY):
    """-> (penalty (N,), lengths (N,), new pl_mean). lengths = sqrt(mean over ws of
    |d sum(img * y) / d w_i|^2), y ~ N(0, 1) / sqrt(H * W); penalty = (lengths - new_mean)^2,
    new_mean = pl_mean + decay * (mean(lengths) - pl_mean) (not differentiated through).
    `synthesis` must be called inside so the penalty's gradient reaches its weights."""
    import tensorflow as tf  # noqa: PLC0415

    with tf.GradientTape() as tape:
        tape.watch(ws)
        img = synthesis(ws, training=True)
        y = draws.normal_like(img) / tf.sqrt(tf.cast(img.shape[1] * img.shape[2], img.dtype))
        out = tf.reduce_sum(img * y)
    g = tf.cast(tape.gradient(out, ws), tf.float32)  # ws are float16/bfloat16 under --precision mixed_*
    lengths = tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(g), axis=2), axis=1))
    new_mean = pl_mean + decay * (tf.stop_gradient(tf.reduce_mean(lengths)) - pl_mean)
    return tf.square(lengths - new_mean), lengths, new_mean

"""GAN losses as pure functions of D's raw outputs (logits), float32 tensors in, scalar out.

D's final layer has no activation; each loss applies its own link:
- bce:     non-saturating GAN (Goodfellow et al. 2014): D minimises -log s(r) - log(1 - s(f)),
           G minimises -log s(f), with s the sigmoid (softplus form, numerically stable).
- lsgan:   least squares (Mao et al. 2017; the MSE loss the PGGAN report settled on):
           D: 1/2 (r - 1)^2 + 1/2 f^2,  G: 1/2 (f - 1)^2.
- wgan-gp: Wasserstein critic (Gulrajani et al. 2017): D: f - r (+ lambda * GP, + eps * r^2 drift
           as in Karras et al. 2018), G: -f.  The penalties are separate functions below.
- hinge:   (Lim & Ye 2017; Miyato et al. 2018): D: relu(1 - r) + relu(1 + f),  G: -f.
All terms are means over the batch.
"""

from __future__ import annotations

LOSSES = ("bce", "lsgan", "wgan-gp", "hinge")


def _tf():
    import tensorflow as tf  # noqa: PLC0415  (imported once by the engine, quietly)

    return tf


def d_loss(kind: str, real, fake):
    tf = _tf()
    real = tf.reshape(tf.cast(real, tf.float32), [-1])
    fake = tf.reshape(tf.cast(fake, tf.float32), [-1])
    if kind == "bce":
        return tf.reduce_mean(tf.nn.softplus(-real)) + tf.reduce_mean(tf.nn.softplus(fake))
    if kind == "lsgan":
        return 0.5 * tf.reduce_mean(tf.square(real - 1.0)) + 0.5 * tf.reduce_mean(tf.square(fake))
    if kind == "wgan-gp":
        return tf.reduce_mean(fake) - tf.reduce_mean(real)
    if kind == "hinge":
        return tf.reduce_mean(tf.nn.relu(1.0 - real)) + tf.reduce_mean(tf.nn.relu(1.0 + fake))
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake):
    tf = _tf()
    fake = tf.reshape(tf.cast(fake, tf.float32), [-1])
    if kind == "bce":
        return tf.reduce_mean(tf.nn.softplus(-fake))
    if kind == "lsgan":
        return 0.5 * tf.reduce_mean(tf.square(fake - 1.0))
    if kind in ("wgan-gp", "hinge"):
        return -tf.reduce_mean(fake)
    raise ValueError(f"unknown loss {kind!r}")


def gradient_penalty(grads):
    """WGAN-GP term mean((||grad||_2 - 1)^2), grads of D at the interpolates, shape (N, ...)."""
    tf = _tf()
    g = tf.reshape(tf.cast(grads, tf.float32), [tf.shape(grads)[0], -1])
    norm = tf.sqrt(tf.reduce_sum(tf.square(g), axis=1) + 1e-12)
    return tf.reduce_mean(tf.square(norm - 1.0))


def r1_penalty(grads):
    """R1 term mean(||grad||_2^2) of D at the real images (Mescheder et al. 2018); the caller
    multiplies by gamma / 2."""
    tf = _tf()
    g = tf.reshape(tf.cast(grads, tf.float32), [tf.shape(grads)[0], -1])
    return tf.reduce_mean(tf.reduce_sum(tf.square(g), axis=1))


def drift(real):
    """PGGAN's epsilon-drift term mean(D(x)^2), keeps a Wasserstein critic near zero."""
    tf = _tf()
    return tf.reduce_mean(tf.square(tf.cast(real, tf.float32)))

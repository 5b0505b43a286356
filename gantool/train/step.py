"""The compiled train step: one D update then one G update, with every option of the engine.

Order inside `train_step(real_uint8)`:
  1. D update: z ~ latent (+ annealed G-input noise), fake = G(z); D scores real and fake
     (augmented and with annealed instance noise when asked); loss = d_loss
     + gp_weight * GP + drift * D(real)^2 (wgan-gp) + r1 / 2 * R1 (when --r1 > 0).
  2. G update on fresh z: loss = g_loss(D(augment(G(z)) + noise)).
  3. EMA of G's weights (when --ema > 0), decay warmed up as min(ema, (1 + t) / (10 + t)).
`alt_step(real)` is the megapixel report's extra alternating update: one more G update followed
by one more D update on the same real batch with fresh z (see gantool.train.loop for when).
Noise sigmas fall linearly from their start value to 0 at the last step.
"""

from __future__ import annotations

from gantool.images import to_float
from gantool.models import losses
from gantool.tfquiet import import_tf
from gantool.train.augment import augment


def make_steps(state, G=None, D=None, G_ema=None, fading: bool = False, factor: int = 1):
    """-> (train_step, alt_step), tf.functions taking a uint8 batch and a float alpha and
    returning a dict of float32 scalars (d_loss, g_loss, real_score, fake_score).

    G, D, G_ema default to the state's models. For a progressive stage: `factor` box-filters the
    real images down from the dataset's size, and with `fading` the models take alpha as a second
    input and real images are blended the same way: lerp(upsample(downsample(x)), x, alpha)."""
    tf = import_tf()
    cfg = state.cfg
    G = G if G is not None else state.G
    D = D if D is not None else state.D
    G_ema = G_ema if G_ema is not None else state.G_ema
    rng = state.rng
    total = float(cfg.steps)
    alpha_box = [None]  # the current step's alpha as an (n, 1) tensor, set by train_step

    def g_call(z, training):
        return G([z, alpha_box[0]], training=training) if fading else G(z, training=training)

    def d_call(x, training):
        return D([x, alpha_box[0]], training=training) if fading else D(x, training=training)

    def real_view(batch, alpha):
        x = to_float(batch)
        if factor > 1:
            x = tf.nn.avg_pool2d(x, factor, factor, "VALID")
        if fading:
            low = tf.nn.avg_pool2d(x, 2, 2, "VALID")
            up = tf.repeat(tf.repeat(low, 2, axis=1), 2, axis=2)
            x = up + alpha * (x - up)
        return x

    def anneal(sigma0):
        frac = 1.0 - tf.cast(state.step, tf.float32) / total
        return sigma0 * tf.maximum(frac, 0.0)

    def sample_z(n):
        if cfg.latent == "normal":
            z = rng.normal([n, cfg.z_dim])
        else:
            z = rng.uniform([n, cfg.z_dim], -1.0, 1.0)
        if cfg.g_noise > 0:
            z = z + anneal(cfg.g_noise) * rng.normal([n, cfg.z_dim])
        return z

    def d_view(x):
        """What D sees of an image batch: augmented, plus instance noise."""
        if cfg.augment:
            x = augment(x, cfg.augment, rng)
        if cfg.instance_noise > 0:
            x = x + anneal(cfg.instance_noise) * rng.normal(tf.shape(x))
        return x

    joint = cfg.preset == "mnist"  # BatchNorm on D's logit: score real and fake in one batch

    def d_scores(r, f):
        """D's scores of real and fake views. BatchNorm in D sees each kind as its own batch
        (the DCGAN recipe), except for the mnist preset, whose BN on the final score needs both."""
        n = tf.shape(r)[0]
        if joint:
            s = D(tf.concat([r, f], axis=0), training=True)
            return s[:n], s[n:]
        return d_call(r, True), d_call(f, True)

    def d_update(real):
        n = tf.shape(real)[0]
        fake = g_call(sample_z(n), True)
        with tf.GradientTape() as tape:
            r, f = d_view(real), d_view(fake)
            with tf.GradientTape(watch_accessed_variables=False) as rtape:
                rtape.watch(r)
                real_s, fake_s = d_scores(r, f)
                r_sum = tf.reduce_sum(real_s)
            loss = losses.d_loss(cfg.loss, real_s, fake_s)
            if cfg.r1 > 0:
                loss += 0.5 * cfg.r1 * losses.r1_penalty(rtape.gradient(r_sum, r))
            if cfg.loss == "wgan-gp":
                eps = rng.uniform([n, 1, 1, 1])
                mixed = eps * r + (1.0 - eps) * f
                with tf.GradientTape(watch_accessed_variables=False) as gtape:
                    gtape.watch(mixed)
                    mixed_s = tf.reduce_sum(d_call(mixed, True))
                loss += cfg.gp_weight * losses.gradient_penalty(gtape.gradient(mixed_s, mixed))
                loss += cfg.drift * losses.drift(real_s)
        grads = tape.gradient(loss, D.trainable_variables)
        state.opt_d.apply_gradients(zip(grads, D.trainable_variables))
        return loss, tf.reduce_mean(real_s), tf.reduce_mean(fake_s)

    def g_update(real):
        n = tf.shape(real)[0]
        with tf.GradientTape() as tape:
            fake = g_call(sample_z(n), True)
            if joint:
                fake_s = d_scores(d_view(real), d_view(fake))[1]
            else:
                fake_s = d_call(d_view(fake), True)
            loss = losses.g_loss(cfg.loss, fake_s)
        grads = tape.gradient(loss, G.trainable_variables)
        state.opt_g.apply_gradients(zip(grads, G.trainable_variables))
        return loss

    def ema_update():
        if G_ema is None:
            return
        t = tf.cast(state.step, tf.float32)
        decay = tf.minimum(cfg.ema, (1.0 + t) / (10.0 + t))
        for e, w in zip(G_ema.trainable_variables, G.trainable_variables):
            e.assign(decay * e + (1.0 - decay) * w)
        for e, w in zip(G_ema.non_trainable_variables, G.non_trainable_variables):
            e.assign(w)

    def train_step(batch, alpha):
        alpha = tf.cast(alpha, tf.float32)
        alpha_box[0] = tf.fill([tf.shape(batch)[0], 1], alpha)
        real = real_view(batch, alpha)
        d_loss, real_score, fake_score = d_update(real)
        g_loss = g_update(real)
        ema_update()
        state.step.assign_add(1)
        state.images.assign_add(tf.cast(tf.shape(batch)[0], tf.int64))
        return {"d_loss": d_loss, "g_loss": g_loss, "real_score": real_score, "fake_score": fake_score}

    def alt_step(batch, alpha):
        alpha = tf.cast(alpha, tf.float32)
        alpha_box[0] = tf.fill([tf.shape(batch)[0], 1], alpha)
        real = real_view(batch, alpha)
        g_loss = g_update(real)
        d_loss, real_score, fake_score = d_update(real)
        ema_update()
        return {"d_loss": d_loss, "g_loss": g_loss, "real_score": real_score, "fake_score": fake_score}

    compile_ = dict(jit_compile=bool(cfg.xla), reduce_retracing=True)
    return tf.function(train_step, **compile_), tf.function(alt_step, **compile_)

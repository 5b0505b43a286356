"""The compiled train step: one D update then one G update, with every option of the engine.

Order inside `train_step(batch_uint8, alpha)`:
  1. D update: z ~ latent (+ annealed G-input noise), fake = G(z); D scores real and fake
     (augmented and with annealed instance noise when asked); loss = d_loss
     + gp_weight * GP + drift * D(real)^2 (wgan-gp) + r1 / 2 * R1 (when --r1 > 0).
  2. G update on fresh z: loss = g_loss(D(augment(G(z)) + noise)).
  3. EMA of G's weights (when --ema > 0), decay warmed up as min(ema, (1 + t) / (10 + t)).
`alt_step(real)` is the megapixel report's extra alternating update: one more G update followed
by one more D update on the same real batch with fresh z (see gantool.train.loop for when).
Noise sigmas fall linearly from their start value to 0 at the last step.

Scale (gantool.train.distribute): both updates run per replica under the run's tf.distribute
strategy (`strategy.run`); each replica's loss is divided by the replica count because the
optimizer sums the replicas' gradients. With --grad-accum K a replica's rows run as K
micro-batches in a tf.while_loop (one micro-batch's activations alive at a time) whose
gradients are averaged and applied once. Under mixed_float16 the loss is scaled by the
LossScaleOptimizer and the gradients unscaled (and a step with overflow skipped) when applied.

Randomness: every draw of a step comes from a stateless seed derived from (--seed, step, update)
and is drawn for the whole global batch, of which each replica and micro-batch keeps its own
rows (Draws). A row's z and noise are therefore the same on one device and on many, and a
resumed run draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

from gantool import latent
from gantool.images import to_float
from gantool.models import losses
from gantool.models.base import spec_of
from gantool.tfquiet import import_tf
from gantool.train.augment import augment

# fold-in tags: which update of a step a draw belongs to
D_TAG, G_TAG, ALT_G_TAG, ALT_D_TAG = 1, 2, 3, 4


class Draws:
    """Random numbers for rows [offset, offset + n) of a global batch of `total` rows.

    Mirrors tf.random.Generator's normal/uniform (first dimension = this slice's rows): each call
    draws the global tensor from stateless seed fold_in(key, call number) and keeps the slice.
    Drawing the global tensor costs a little extra work per replica and makes a row's numbers
    independent of how the batch is split."""

    def __init__(self, key, offset, total: int):
        self.tf = import_tf()
        self.key, self.offset, self.total, self.calls = key, offset, int(total), 0

    def _seed(self):
        seed = self.tf.random.experimental.stateless_fold_in(self.key, self.calls)
        self.calls += 1
        return seed

    def _full(self, shape):
        tf = self.tf
        shape = tf.convert_to_tensor(shape, tf.int32)
        return tf.concat([[self.total], shape[1:]], 0), shape[0]

    def _rows(self, x, n):
        return x[self.offset:self.offset + n]

    def normal(self, shape):
        full, n = self._full(shape)
        return self._rows(self.tf.random.stateless_normal(full, self._seed()), n)

    def uniform(self, shape, minval=0.0, maxval=None, dtype=None):
        tf = self.tf
        dtype = dtype or tf.float32
        full, n = self._full(shape)
        maxval = 1.0 if maxval is None else maxval
        return self._rows(tf.random.stateless_uniform(full, self._seed(), minval, maxval, dtype=dtype), n)


def step_key(seed: int, step, tag: int):
    tf = import_tf()
    base = tf.constant([int(seed), 0x5EED], tf.int64)
    return tf.random.experimental.stateless_fold_in(tf.random.experimental.stateless_fold_in(base, step), tag)


def make_steps(state, G=None, D=None, G_ema=None, fading: bool = False, factor: int = 1, batch: int | None = None):
    """-> (train_step, alt_step), tf.functions taking a uint8 batch (per-replica values under a
    strategy, see gantool.train.distribute.local_slice) and a float alpha and returning a dict
    of float32 scalars (d_loss, g_loss, real_score, fake_score) averaged over replicas.

    G, D, G_ema default to the state's models; `batch` is the global batch (cfg.batch). For a
    progressive stage: `factor` box-filters the real images down from the dataset's size, and
    with `fading` the models take alpha as a second input and real images are blended the same
    way: lerp(upsample(downsample(x)), x, alpha)."""
    tf = import_tf()
    import keras  # noqa: PLC0415

    cfg = state.cfg
    G = G if G is not None else state.G
    D = D if D is not None else state.D
    G_ema = G_ema if G_ema is not None else state.G_ema
    dist = state.dist
    strategy, replicas = dist.strategy, dist.replicas
    accum = max(1, int(getattr(cfg, "grad_accum", 1)))
    global_batch = int(batch or cfg.batch)
    total = float(cfg.steps)

    def with_alpha(x, alpha):
        return [x, tf.fill([tf.shape(x)[0], 1], alpha)] if fading else x

    def g_call(z, alpha, training):
        return G(with_alpha(z, alpha), training=training)

    def d_call(x, alpha, training):
        return D(with_alpha(x, alpha), training=training)

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

    def sample_z(n, draws):
        z = latent.draw(draws, [n, cfg.z_dim], cfg.latent)
        if cfg.g_noise > 0:
            z = z + anneal(cfg.g_noise) * draws.normal([n, cfg.z_dim])
        return z

    def d_view(x, draws):
        """What D sees of an image batch: augmented, plus instance noise."""
        if cfg.augment:
            x = augment(x, cfg.augment, draws)
        if cfg.instance_noise > 0:
            x = x + anneal(cfg.instance_noise) * draws.normal(tf.shape(x))
        return x

    joint = spec_of(cfg).joint_d_batch  # e.g. BatchNorm on D's logit: score real and fake in one batch

    def d_scores(r, f, alpha):
        """D's scores of real and fake views. BatchNorm in D sees each kind as its own batch
        (the DCGAN recipe), except for a variant that declares joint_d_batch (the mnist preset,
        whose BN on the final score needs both)."""
        n = tf.shape(r)[0]
        if joint:
            s = D(tf.concat([r, f], axis=0), training=True)
            return s[:n], s[n:]
        return d_call(r, alpha, True), d_call(f, alpha, True)

    def d_loss_fn(real, alpha, draws, tape):
        n = real.shape[0]
        with tape.stop_recording():
            fake = g_call(sample_z(n, draws), alpha, True)
        r, f = d_view(real, draws), d_view(fake, draws)
        with tf.GradientTape(watch_accessed_variables=False) as rtape:
            rtape.watch(r)
            real_s, fake_s = d_scores(r, f, alpha)
            r_sum = tf.reduce_sum(real_s)
        loss = losses.d_loss(cfg.loss, real_s, fake_s)
        if cfg.r1 > 0:
            loss += 0.5 * cfg.r1 * losses.r1_penalty(rtape.gradient(r_sum, r))
        if cfg.loss == "wgan-gp":
            eps = draws.uniform([n, 1, 1, 1])
            mixed = eps * r + (1.0 - eps) * f
            with tf.GradientTape(watch_accessed_variables=False) as gtape:
                gtape.watch(mixed)
                mixed_s = tf.reduce_sum(d_call(mixed, alpha, True))
            loss += cfg.gp_weight * losses.gradient_penalty(gtape.gradient(mixed_s, mixed))
            loss += cfg.drift * losses.drift(real_s)
        return loss, [tf.reduce_mean(tf.cast(real_s, tf.float32)), tf.reduce_mean(tf.cast(fake_s, tf.float32))]

    def g_loss_fn(real, alpha, draws, tape):
        n = real.shape[0]
        fake = g_call(sample_z(n, draws), alpha, True)
        if joint:
            fake_s = d_scores(d_view(real, draws), d_view(fake, draws), alpha)[1]
        else:
            fake_s = d_call(d_view(fake, draws), alpha, True)
        return losses.g_loss(cfg.loss, fake_s), []

    def update(loss_fn, model, opt, real, alpha, key, offset, extras: int):
        """Gradients of the mean loss over `accum` micro-batches of `real` (this replica's rows,
        which start at row `offset` of the global batch), applied once; -> (loss, extras)."""
        variables = model.trainable_variables
        scaled = isinstance(opt, keras.optimizers.LossScaleOptimizer)

        def grads_of(rows, start):
            draws = Draws(key, start, global_batch)
            with tf.GradientTape() as tape:
                loss, aux = loss_fn(rows, alpha, draws, tape)
                target = loss / replicas
                if scaled:
                    target = opt.scale_loss(target)
            grads = tape.gradient(target, variables)
            grads = [tf.zeros(v.shape, v.dtype) if g is None else g for g, v in zip(grads, variables)]
            return grads, loss, aux

        if accum == 1:
            grads, loss, aux = grads_of(real, offset)
        else:
            m = real.shape[0] // accum
            micro = tf.reshape(real, [accum, m, *real.shape[1:]])

            def body(j, acc, loss_sum, aux_sum):
                g, loss, aux = grads_of(tf.gather(micro, j), offset + j * m)
                return (j + 1, [a + b for a, b in zip(acc, g)], loss_sum + loss,
                        [a + b for a, b in zip(aux_sum, aux)])

            start = (tf.constant(0), [tf.zeros(v.shape, v.dtype) for v in variables], tf.constant(0.0),
                     [tf.constant(0.0)] * extras)
            _, acc, loss_sum, aux_sum = tf.while_loop(lambda j, *_: j < accum, body, start)
            grads = [a / accum for a in acc]
            loss, aux = loss_sum / accum, [a / accum for a in aux_sum]
        opt.apply_gradients(zip(grads, variables))
        return loss, aux

    def replica_offset(real):
        ctx = tf.distribute.get_replica_context()
        return tf.cast(ctx.replica_id_in_sync_group, tf.int32) * real.shape[0]

    def d_update(real, alpha, key, offset):
        loss, (real_score, fake_score) = update(d_loss_fn, D, state.opt_d, real, alpha, key, offset, 2)
        return loss, real_score, fake_score

    def g_update(real, alpha, key, offset):
        return update(g_loss_fn, G, state.opt_g, real, alpha, key, offset, 0)[0]

    def replica_train(batch, alpha, kd, kg):
        real = real_view(batch, alpha)
        offset = replica_offset(real)
        d_loss, real_score, fake_score = d_update(real, alpha, kd, offset)
        g_loss = g_update(real, alpha, kg, offset)
        return {"d_loss": d_loss, "g_loss": g_loss, "real_score": real_score, "fake_score": fake_score}

    def replica_alt(batch, alpha, kg, kd):
        real = real_view(batch, alpha)
        offset = replica_offset(real)
        g_loss = g_update(real, alpha, kg, offset)
        d_loss, real_score, fake_score = d_update(real, alpha, kd, offset)
        return {"d_loss": d_loss, "g_loss": g_loss, "real_score": real_score, "fake_score": fake_score}

    def ema_update():
        if G_ema is None:
            return
        t = tf.cast(state.step, tf.float32)
        decay = tf.minimum(cfg.ema, (1.0 + t) / (10.0 + t))
        for e, w in zip(G_ema.trainable_variables, G.trainable_variables):
            e.assign(decay * e + (1.0 - decay) * w)
        for e, w in zip(G_ema.non_trainable_variables, G.non_trainable_variables):
            e.assign(w)

    def mean(out):
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in out.items()}

    def train_step(batch, alpha):
        alpha = tf.cast(alpha, tf.float32)
        keys = (step_key(cfg.seed, state.step, D_TAG), step_key(cfg.seed, state.step, G_TAG))
        out = mean(strategy.run(replica_train, args=(batch, alpha, *keys)))
        ema_update()
        state.step.assign_add(1)
        state.images.assign_add(global_batch)
        return out

    def alt_step(batch, alpha):
        alpha = tf.cast(alpha, tf.float32)
        keys = (step_key(cfg.seed, state.step, ALT_G_TAG), step_key(cfg.seed, state.step, ALT_D_TAG))
        out = mean(strategy.run(replica_alt, args=(batch, alpha, *keys)))
        ema_update()
        return out

    compile_ = dict(jit_compile=bool(cfg.xla), reduce_retracing=True)
    return tf.function(train_step, **compile_), tf.function(alt_step, **compile_)

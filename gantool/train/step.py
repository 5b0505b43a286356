"""The compiled train step: one D update then one G update, with every option of the engine.

Order inside `train_step(batch_uint8, alpha)` (the pieces are methods of `Step`):
  1. D update: z ~ latent (+ annealed G-input noise), fake = G(z); D scores real and fake
     (augmented and with annealed instance noise when asked); loss = d_loss
     + gp_weight * GP + drift * D(real)^2 (wgan-gp) + r1 / 2 * R1 (when --r1 > 0).
  2. G update on fresh z: loss = g_loss(D(augment(G(z)) + noise)). With --reuse-fake, on the
     same G(z) as the D update, one G forward per step (gantool.train.reuse).
  3. EMA of G's weights (when --ema > 0), decay warmed up as min(ema, (1 + t) / (10 + t)).
  4. --augment ada: the step's mean sign(D(real)) is accumulated; every ada.INTERVAL steps p moves
     toward --ada-target (gantool.train.ada.adjust_p, in the graph) and the accumulators reset.
     D sees ada.augment(x, p) of real and fake images in both updates.
A variant with a training recipe (gantool.train.recipe) changes what the hooks say: how fakes
are made, a lazy R1 and a G penalty on the steps where they are due (a tf.cond on the step
counter inside the one compiled step, so the step is traced once, not once per set of due
terms), its EMA, per-step reseeding.
`alt_step(real)` is the megapixel report's extra alternating update: one more G update followed
by one more D update on the same real batch with fresh z (see gantool.train.loop for when).
Noise sigmas fall linearly from their start value to 0 at the last step.

Scale (gantool.train.distribute): both updates run per replica under the run's tf.distribute
strategy (`strategy.run`); each replica's loss is divided by the replica count because the
optimizer sums the replicas' gradients. With --grad-accum K a replica's rows run as K
micro-batches (gantool.train.update; one micro-batch's activations alive at a time) whose
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
from gantool.models import spec_of
from gantool.tfquiet import import_tf
from gantool.train import ada, reuse
from gantool.train.augment import augment
from gantool.train.draws import ALT_D_TAG, ALT_G_TAG, BEGIN_TAG, D_TAG, G_TAG, step_key
from gantool.train.update import Update


def make_steps(state, G=None, D=None, G_ema=None, fading: bool = False, factor: int = 1, batch: int | None = None):
    """-> (train_step, alt_step), tf.functions taking a uint8 batch (per-replica values under a
    strategy, see gantool.train.distribute.local_slice) and a float alpha and returning a dict
    of float32 scalars (d_loss, g_loss, real_score, fake_score) averaged over replicas.

    G, D, G_ema default to the state's models; `batch` is the global batch (cfg.batch). For a
    progressive stage: `factor` box-filters the real images down from the dataset's size, and
    with `fading` the models take alpha as a second input and real images are blended the same
    way: lerp(upsample(downsample(x)), x, alpha)."""
    tf = import_tf()
    step = Step(state, G, D, G_ema, fading, factor, batch)
    compile_ = dict(jit_compile=bool(state.cfg.xla), reduce_retracing=True, autograph=False)

    def compiled(body):
        def fn(batch, alpha):  # closures keep `step` alive as long as the compiled functions
            return body(batch, alpha)

        return tf.function(fn, **compile_)

    return compiled(step.train_step), compiled(step.alt_step)


class Step:
    """One training step in named pieces, each a few lines:
    what D sees (real_view, sample_z, d_view, d_scores), the losses (d_loss with its penalties,
    g_loss), one optimizer update with accumulation and loss scaling (`upd`, an
    gantool.train.update.Update), the EMA of G (ema_update), and the replica / global steps that
    put them in order."""

    def __init__(self, state, G, D, G_ema, fading: bool, factor: int, batch: int | None):
        self.tf = import_tf()
        self.state, self.cfg = state, state.cfg
        self.G = G if G is not None else state.G
        self.D = D if D is not None else state.D
        self.G_ema = G_ema if G_ema is not None else state.G_ema
        self.strategy, self.replicas = state.dist.strategy, state.dist.replicas
        self.reuse_fake = bool(getattr(self.cfg, "reuse_fake", False))
        self.global_batch = int(batch or self.cfg.batch)
        self.upd = Update(self.replicas, getattr(self.cfg, "grad_accum", 1), self.global_batch)
        self.total = float(self.cfg.steps)
        self.fading, self.factor = fading, factor
        self.joint = spec_of(self.cfg).joint_d_batch  # e.g. BatchNorm on D's logit: one D batch for both
        self.ada = state.ada if self.cfg.augment == "ada" else None
        self.recipe = state.recipe
        self.lazy_terms = False  # whether the step being traced runs the recipe's lazy terms when due
        # D's extras: mean scores, + mean sign(D(real)) for ADA's r_t, + the lazy R1 (0 when not due)
        self.d_names = ("real_score", "fake_score") + ("ada_rt",) * (self.ada is not None) + ("r1",) * (self.recipe is not None)
        self.g_names = ("pl", "pl_mean_new") if self.recipe is not None else ()

    # ---- the models, with alpha as a second input while a stage fades in
    def with_alpha(self, x, alpha):
        tf = self.tf
        return [x, tf.fill([tf.shape(x)[0], 1], alpha)] if self.fading else x

    def g_call(self, z, alpha, training):
        return self.G(self.with_alpha(z, alpha), training=training)

    def d_call(self, x, alpha, training):
        return self.D(self.with_alpha(x, alpha), training=training)

    # ---- what D sees
    def real_view(self, batch, alpha):
        """The real batch as float [-1, 1] at the stage's resolution, blended while fading."""
        tf = self.tf
        x = to_float(batch)
        if self.factor > 1:
            x = tf.nn.avg_pool2d(x, self.factor, self.factor, "VALID")
        if self.fading:
            low = tf.nn.avg_pool2d(x, 2, 2, "VALID")
            up = tf.repeat(tf.repeat(low, 2, axis=1), 2, axis=2)
            x = up + alpha * (x - up)
        return x

    def anneal(self, sigma0):
        """A noise sigma falling linearly from sigma0 to 0 at the last step."""
        frac = 1.0 - self.tf.cast(self.state.step, self.tf.float32) / self.total
        return sigma0 * self.tf.maximum(frac, 0.0)

    def fake(self, n, alpha, draws, training=True):
        """Fresh fake images: G(z), or the recipe's way of making them."""
        z = self.sample_z(n, draws)
        if self.recipe is not None:
            return self.recipe.generate(z, draws, training)
        return self.g_call(z, alpha, training)

    def sample_z(self, n, draws):
        """G's input: z of the run's latent distribution, plus annealed --g-noise."""
        cfg = self.cfg
        z = latent.draw(draws, [n, cfg.z_dim], cfg.latent)
        if cfg.g_noise > 0:
            z = z + self.anneal(cfg.g_noise) * draws.normal([n, cfg.z_dim])
        return z

    def d_view(self, x, draws):
        """What D sees of an image batch: augmented, plus instance noise."""
        cfg = self.cfg
        if self.ada is not None:
            x = ada.augment(x, self.ada.p, draws)
        elif cfg.augment:
            x = augment(x, cfg.augment, draws)
        if cfg.instance_noise > 0:
            x = x + self.anneal(cfg.instance_noise) * draws.normal_like(x)
        return x

    def d_scores(self, r, f, alpha):
        """D's scores of real and fake views. BatchNorm in D sees each kind as its own batch
        (the DCGAN recipe), except for a variant that declares joint_d_batch (the mnist preset,
        whose BN on the final score needs both)."""
        if self.joint:
            n = self.tf.shape(r)[0]
            s = self.D(self.tf.concat([r, f], axis=0), training=True)
            return s[:n], s[n:]
        return self.d_call(r, alpha, True), self.d_call(f, alpha, True)

    # ---- the losses
    def d_loss(self, real, alpha, draws, tape):
        """D's loss on real and fresh fake images (G runs off the tape), with its penalties."""
        with tape.stop_recording():
            fake = self.fake(real.shape[0], alpha, draws)
        return self.d_loss_on(real, fake, alpha, draws)

    def d_loss_on(self, real, fake, alpha, draws):
        """D's loss on real and these fake images, with its penalties; -> (loss, [mean scores])."""
        tf, cfg = self.tf, self.cfg
        r, f = self.d_view(real, draws), self.d_view(fake, draws)
        with tf.GradientTape(watch_accessed_variables=False) as rtape:
            rtape.watch(r)
            real_s, fake_s = self.d_scores(r, f, alpha)
            r_sum = tf.reduce_sum(real_s)
        loss = losses.d_loss(cfg.loss, real_s, fake_s)
        gamma, every = (self.recipe.r1_gamma, self.recipe.r1_interval) if self.recipe is not None else (cfg.r1, 1)
        r1 = tf.constant(0.0)
        if gamma > 0:
            def penalty():
                return losses.r1_penalty(rtape.gradient(r_sum, r))

            r1 = penalty() if every == 1 else self.lazy(every, penalty, lambda: tf.constant(0.0))
            loss += 0.5 * gamma * every * r1
        if cfg.loss == "wgan-gp":
            gp, drift = self.wgan_terms(real.shape[0], r, f, real_s, alpha, draws)
            loss += gp
            loss += drift
        scores = [tf.reduce_mean(tf.cast(real_s, tf.float32)), tf.reduce_mean(tf.cast(fake_s, tf.float32))]
        if self.ada is not None:
            scores.append(tf.reduce_mean(tf.sign(tf.cast(real_s, tf.float32))))
        if self.recipe is not None:
            scores.append(tf.cast(r1, tf.float32))
        return loss, scores

    def wgan_terms(self, n, r, f, real_s, alpha, draws):
        """(gp_weight * gradient penalty on random mixes of real and fake, drift * D(real)^2)."""
        tf, cfg = self.tf, self.cfg
        eps = draws.uniform([n, 1, 1, 1])
        mixed = eps * r + (1.0 - eps) * f
        with tf.GradientTape(watch_accessed_variables=False) as gtape:
            gtape.watch(mixed)
            mixed_s = tf.reduce_sum(self.d_call(mixed, alpha, True))
        return cfg.gp_weight * losses.gradient_penalty(gtape.gradient(mixed_s, mixed)), cfg.drift * losses.drift(real_s)

    def g_loss(self, real, alpha, draws, tape):
        """G's loss on fresh fake images (see g_loss_on)."""
        return self.g_loss_on(real, self.fake(real.shape[0], alpha, draws), alpha, draws)

    def g_loss_on(self, real, fake, alpha, draws):
        """G's loss on D's scores of these fake images (+ the recipe's G penalty when due);
        -> (loss, [penalty, new tracked mean] with a recipe, else [])."""
        if self.joint:
            fake_s = self.d_scores(self.d_view(real, draws), self.d_view(fake, draws), alpha)[1]
        else:
            fake_s = self.d_call(self.d_view(fake, draws), alpha, True)
        loss = losses.g_loss(self.cfg.loss, fake_s)
        if self.recipe is None:
            return loss, []
        tf, recipe = self.tf, self.recipe

        def none():
            return tf.constant(0.0), tf.constant(0.0), tf.identity(recipe.pl_mean)

        if recipe.has_g_penalty:
            term, pen, new_mean = self.lazy(recipe.pl_interval, lambda: recipe.g_penalty(real.shape[0], draws), none)
            loss = loss + term
        else:
            _, pen, new_mean = none()
        return loss, [pen, new_mean]

    def lazy(self, every: int, due_fn, else_fn):
        """due_fn() on the steps where a lazy term run every `every` steps is due, else else_fn():
        a tf.cond on the step counter (a step without lazy terms, the alt step: else_fn())."""
        if not self.lazy_terms:
            return else_fn()
        tf = self.tf
        return tf.cond(tf.equal(self.state.step % every, 0), due_fn, else_fn)

    def d_update(self, real, alpha, key, offset):
        """-> (loss, {real_score, fake_score[, ada_rt]})"""
        loss, aux = self.upd.apply(self.d_loss, self.D, self.state.opt_d, real, alpha, key, offset, len(self.d_names))
        return loss, dict(zip(self.d_names, aux))

    def g_update(self, real, alpha, key, offset):
        """-> (loss, {the recipe's G extras})"""
        loss, aux = self.upd.apply(self.g_loss, self.G, self.state.opt_g, real, alpha, key, offset, len(self.g_names))
        return loss, dict(zip(self.g_names, aux))

    # ---- EMA of G's weights
    def ema_update(self):
        """G_ema <- decay * G_ema + (1 - decay) * G, decay warmed up as min(ema, (1+t)/(10+t));
        non-trainable weights (BatchNorm statistics) are copied."""
        if self.G_ema is None:
            return
        if self.recipe is not None:
            self.recipe.ema(self.G_ema, self.G, self.state.images, self.global_batch)
            return
        tf = self.tf
        t = tf.cast(self.state.step, tf.float32)
        decay = tf.minimum(self.cfg.ema, (1.0 + t) / (10.0 + t))
        for e, w in zip(self.G_ema.trainable_variables, self.G.trainable_variables):
            e.assign(decay * e + (1.0 - decay) * w)
        for e, w in zip(self.G_ema.non_trainable_variables, self.G.non_trainable_variables):
            e.assign(w)

    # ---- the order: per replica, then the global step
    def replica_offset(self, real):
        ctx = self.tf.distribute.get_replica_context()
        if ctx.num_replicas_in_sync == 1:
            return 0  # a Python 0: one device's draws are not sliced (gantool.train.draws)
        return self.tf.cast(ctx.replica_id_in_sync_group, self.tf.int32) * real.shape[0]

    def replica_train(self, batch, alpha, kd, kg):
        if self.reuse_fake:  # one G forward for both updates (gantool.train.reuse)
            return reuse.replica_train(self, batch, alpha, kd, kg)
        real = self.real_view(batch, alpha)
        offset = self.replica_offset(real)
        d_loss, scores = self.d_update(real, alpha, kd, offset)
        g_loss, g_extras = self.g_update(real, alpha, kg, offset)
        return {"d_loss": d_loss, "g_loss": g_loss, **scores, **g_extras}

    def replica_alt(self, batch, alpha, kg, kd):
        real = self.real_view(batch, alpha)
        offset = self.replica_offset(real)
        g_loss, g_extras = self.g_update(real, alpha, kg, offset)
        d_loss, scores = self.d_update(real, alpha, kd, offset)
        return {"d_loss": d_loss, "g_loss": g_loss, **scores, **g_extras}

    def mean(self, out):
        return {k: self.strategy.reduce(self.tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in out.items()}

    def begin(self, lazy_terms: bool, tag: int):
        """Before a step's updates: whether it runs the lazy terms, the recipe's per-step hook."""
        self.lazy_terms = lazy_terms
        if self.recipe is not None:
            self.recipe.begin_step(self.G, step_key(self.cfg.seed, self.state.step, tag))

    def finish(self, out):
        """After the updates (cross-replica): the recipe's tracked mean from the averaged extras."""
        if self.recipe is not None:
            new_mean = out.pop("pl_mean_new")
            keep = self.recipe.pl_mean.read_value()  # (an average of copies of it need not be it to the bit)
            self.recipe.track(self.lazy(self.recipe.pl_interval, lambda: new_mean, lambda: keep))
            out["pl_mean"] = self.recipe.pl_mean.read_value()
        return out

    def train_step(self, batch, alpha):
        """One D update, one G update, the EMA; advances the step and the images shown."""
        tf, state, seed = self.tf, self.state, self.cfg.seed
        alpha = tf.cast(alpha, tf.float32)
        self.begin(True, BEGIN_TAG)
        keys = (step_key(seed, state.step, D_TAG), step_key(seed, state.step, G_TAG))
        out = self.finish(self.mean(self.strategy.run(self.replica_train, args=(batch, alpha, *keys))))
        self.ema_update()
        self.ada_adjust(out)
        state.step.assign_add(1)
        state.images.assign_add(self.global_batch)
        return out

    def alt_step(self, batch, alpha):
        """--alt-every's extra G update then D update; the step counter stays."""
        tf, state, seed = self.tf, self.state, self.cfg.seed
        alpha = tf.cast(alpha, tf.float32)
        self.begin(False, BEGIN_TAG + ALT_G_TAG)
        keys = (step_key(seed, state.step, ALT_G_TAG), step_key(seed, state.step, ALT_D_TAG))
        out = self.finish(self.mean(self.strategy.run(self.replica_alt, args=(batch, alpha, *keys))))
        self.ema_update()
        if self.ada is not None:
            out["ada_p"] = self.ada.p.read_value()
        return out

    def ada_adjust(self, out):
        """--augment ada: accumulate this step's mean sign(D(real)); at the end of every
        ada.INTERVAL steps move p (ada.adjust_p's rule, in the graph) and reset; out gets p."""
        if self.ada is None:
            return
        tf, a, cfg = self.tf, self.ada, self.cfg
        total = a.sign_sum.assign_add(out["ada_rt"])
        count = a.count.assign_add(1.0)
        due = tf.equal((self.state.step + 1) % ada.INTERVAL, 0)
        rt = total / count
        move = tf.sign(rt - cfg.ada_target) * (self.global_batch * ada.INTERVAL / (cfg.ada_kimg * 1000.0))
        a.p.assign(tf.where(due, tf.clip_by_value(a.p + move, 0.0, 1.0), a.p))
        a.sign_sum.assign(tf.where(due, 0.0, total))
        a.count.assign(tf.where(due, 0.0, count))
        out["ada_p"] = a.p.read_value()

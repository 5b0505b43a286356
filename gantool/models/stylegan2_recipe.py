"""The training recipe of `stylegan2` (gantool.train.recipe interface), from the pure pieces of
gantool.models.stylegan2_regs:

- fakes: ws = mixed_ws(mapping, z) (style mixing, probability --style-mixing, default 0.9),
  image = synthesis(ws);
  mapping in training mode updates the tracked mean w (w_avg, a non-trainable weight of G);
- lazy R1 every 16 D minibatches, gamma = --r1 or 0.0002 * res^2 / batch (stylegan2-ada 'auto');
- path length regularisation every 4 G minibatches on half the (micro-)batch: weight
  --pl-weight (default 2) * 4, running mean pl_mean (decay 0.01) checkpointed; with
  --pl-weight 0 it is not computed at all (G keeps its lazy Adam settings, as stylegan2-ada does);
- lazy Adam: lr * c, beta^c with c = interval / (interval + 1) (16 for D, 4 for G);
- G EMA by half-life --ema-kimg (default batch * 10 / 32) with ramp-up, always on; G's
  non-trainable weights (w_avg, noise generator states) are copied;
- per-pixel noise: every noise layer of G is reseeded from the step's key before the updates,
  so a step's noise is a pure function of (seed, step).
"""

from __future__ import annotations

from gantool.models import stylegan2_regs as regs
from gantool.models.stylegan2 import num_ws, reseed_noise
from gantool.tfquiet import import_tf


class StyleGAN2Recipe:
    keeps_ema = True
    r1_interval = regs.R1_INTERVAL
    pl_interval = regs.PL_INTERVAL

    def __init__(self, cfg, G):
        tf = import_tf()
        self.tf, self.cfg = tf, cfg
        self.mapping, self.synthesis = G.get_layer("mapping"), G.get_layer("synthesis")
        self.num_ws = num_ws(cfg.size)
        self.r1_gamma = cfg.r1 if cfg.r1 > 0 else regs.r1_gamma_auto(cfg.size, cfg.batch)
        self.ema_kimg = cfg.ema_kimg or regs.ema_kimg_auto(cfg.batch)
        self.mixing = cfg.style_mixing
        self.pl_weight = cfg.pl_weight
        self.has_g_penalty = cfg.pl_weight > 0  # False: the step skips g_penalty (nothing traced)
        self.pl_mean = tf.Variable(0.0, dtype=tf.float32, trainable=False, name="pl_mean")

    def variables(self) -> dict:
        return {"pl_mean": self.pl_mean}

    def adam(self, which: str, lr: float, beta1: float, beta2: float):
        return regs.lazy_adam(lr, beta1, beta2, regs.R1_INTERVAL if which == "d" else regs.PL_INTERVAL)

    def begin_step(self, G, key) -> None:
        tf = self.tf
        reseed_noise(G, tf.random.stateless_uniform([], key, minval=0, maxval=2 ** 62, dtype=tf.int64))

    def generate(self, z, draws, training: bool):
        ws = regs.mixed_ws(self.mapping, z, self.num_ws, draws, self.mixing, training=training)
        return self.synthesis(ws, training=training)

    def g_penalty(self, n: int, draws):
        """Path length term on max(1, n // 2) fresh fakes -> (weighted term, penalty, new pl_mean)."""
        tf, cfg = self.tf, self.cfg
        z = draws.normal([max(1, n // 2), cfg.z_dim])
        ws = regs.mixed_ws(self.mapping, z, self.num_ws, draws, self.mixing, training=False)
        penalty, _, new_mean = regs.path_length(self.synthesis, ws, draws, self.pl_mean, regs.PL_DECAY)
        pen = tf.reduce_mean(tf.cast(penalty, tf.float32))
        return pen * self.pl_weight * regs.PL_INTERVAL, pen, tf.cast(new_mean, tf.float32)

    def track(self, new_mean) -> None:
        self.pl_mean.assign(new_mean)

    def ema(self, G_ema, G, images, batch: int) -> None:
        beta = regs.ema_beta(batch, self.tf.cast(images, self.tf.float32), self.ema_kimg)
        for e, w in zip(G_ema.trainable_variables, G.trainable_variables):
            e.assign(w + beta * (e - w))
        for e, w in zip(G_ema.non_trainable_variables, G.non_trainable_variables):
            e.assign(w)

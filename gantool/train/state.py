"""Everything a run's checkpoint holds, built from a TrainConfig.

G, D, the EMA copy of G, both Adam optimizers (built, so their slots exist before a restore),
the step counter and the tf.random.Generator that draws every z, noise and augmentation.
The data position is not stored: it is step * batch (gantool.data.pipeline), so these objects
are the complete state of a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gantool.tfquiet import import_tf


@dataclass
class TrainState:
    cfg: Any
    G: Any
    D: Any
    G_ema: Any  # None when --ema 0
    opt_g: Any
    opt_d: Any
    step: Any   # tf.Variable int64
    rng: Any    # tf.random.Generator

    def checkpoint(self):
        tf = import_tf()
        parts = dict(generator=self.G, discriminator=self.D, opt_g=self.opt_g, opt_d=self.opt_d,
                     step=self.step, rng=self.rng)
        if self.G_ema is not None:
            parts["generator_ema"] = self.G_ema
        return tf.train.Checkpoint(**parts)

    @property
    def sampler(self):
        """The generator that samples and exports use: the EMA copy when there is one."""
        return self.G_ema if self.G_ema is not None else self.G


def build_models(cfg):
    """(G, D) for cfg, with Keras' global seed set from cfg.seed so weights are reproducible."""
    import_tf()
    import keras  # noqa: PLC0415

    from gantool.models import VARIANTS  # noqa: PLC0415

    keras.utils.set_random_seed(int(cfg.seed))
    return VARIANTS.get(cfg.variant).build(cfg)


def build_state(cfg) -> TrainState:
    tf = import_tf()
    import keras  # noqa: PLC0415

    G, D = build_models(cfg)
    G_ema = None
    if cfg.ema > 0:
        G_ema = keras.models.clone_model(G)
        G_ema.set_weights(G.get_weights())
    opt_g = keras.optimizers.Adam(cfg.lr_g, beta_1=cfg.beta1, beta_2=cfg.beta2, epsilon=1e-8)
    opt_d = keras.optimizers.Adam(cfg.lr_d, beta_1=cfg.beta1, beta_2=cfg.beta2, epsilon=1e-8)
    opt_g.build(G.trainable_variables)
    opt_d.build(D.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    rng = tf.random.Generator.from_seed(int(cfg.seed) * 1_000_003 + 17, alg="philox")
    return TrainState(cfg, G, D, G_ema, opt_g, opt_d, step, rng)

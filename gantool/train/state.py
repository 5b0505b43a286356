"""Everything a run's checkpoint holds, built from a TrainConfig.

G, D, the EMA copy of G, both Adam optimizers (built, so their slots exist before a restore;
wrapped in a LossScaleOptimizer, whose scale is saved too, under mixed_float16), the step counter
and the images shown. Every random draw is a function of (seed, step) (gantool.train.step), and
the data position is the images shown (gantool.data.pipeline), so these objects are the complete
state of a run.

Everything is built inside the run's tf.distribute strategy scope (gantool.train.distribute),
under the Keras dtype policy of --precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gantool.models import VARIANTS
from gantool.models import spec_of
from gantool.models.base import precision
from gantool.models.pggan import ProgressiveNets
from gantool.tfquiet import import_tf
from gantool.train.distribute import make


@dataclass
class AdaState:
    """--augment ada's state: the augmentation probability p and, over the current interval of
    gantool.train.ada.INTERVAL steps, the sum of the steps' mean sign(D(real)) and their count."""
    p: Any
    sign_sum: Any
    count: Any

    @classmethod
    def create(cls):
        tf = import_tf()
        return cls(*(tf.Variable(0.0, dtype=tf.float32, trainable=False, name=n) for n in ("ada_p", "ada_sign_sum", "ada_count")))


@dataclass
class TrainState:
    cfg: Any
    G: Any
    D: Any
    G_ema: Any  # None when --ema 0
    opt_g: Any
    opt_d: Any
    step: Any   # tf.Variable int64
    images: Any  # tf.Variable int64: real images shown so far (the data position)
    nets: Any = None      # pggan: ProgressiveNets holding every level's layers
    nets_ema: Any = None  # pggan: the EMA copy's layers
    dist: Any = None      # gantool.train.distribute.Dist
    ada: Any = None       # --augment ada: AdaState (p and the r_t accumulators)
    extra: dict = None    # a variant's own checkpointed variables (name -> tf.Variable), e.g. stylegan2's pl_mean
    recipe: Any = None    # the variant's training recipe (gantool.train.recipe), if it declares one

    def checkpoint(self):
        tf = import_tf()
        parts = dict(opt_g=self.opt_g, opt_d=self.opt_d, step=self.step, images=self.images)
        if self.ada is not None:
            parts.update(ada_p=self.ada.p, ada_sign_sum=self.ada.sign_sum, ada_count=self.ada.count)
        parts.update(self.extra or {})
        if self.nets is not None:
            parts.update(generator_layers=self.nets.g_layers(), discriminator_layers=self.nets.d_layers())
            if self.nets_ema is not None:
                parts["generator_ema_layers"] = self.nets_ema.g_layers()
            return tf.train.Checkpoint(**parts)
        parts.update(generator=self.G, discriminator=self.D)
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

    keras.utils.set_random_seed(int(cfg.seed))
    with precision(cfg):
        return spec_of(cfg).build(cfg)


def build_state(cfg, dist=None) -> TrainState:
    """The run's state, built inside `dist`'s strategy scope (default: one device)."""
    dist = dist or make("default")
    with dist.scope():
        state = _build_state(cfg)
        if getattr(cfg, "augment", "") == "ada":
            state.ada = AdaState.create()
    state.dist = dist
    return state


def _optimizer(cfg, lr, beta1=None, beta2=None):
    import keras  # noqa: PLC0415

    beta1, beta2 = cfg.beta1 if beta1 is None else beta1, cfg.beta2 if beta2 is None else beta2
    opt = keras.optimizers.Adam(lr, beta_1=beta1, beta_2=beta2, epsilon=1e-8)
    if getattr(cfg, "precision", "float32") == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def _build_state(cfg) -> TrainState:
    tf = import_tf()
    import keras  # noqa: PLC0415

    opt_g, opt_d = _optimizer(cfg, cfg.lr_g), _optimizer(cfg, cfg.lr_d)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    images = tf.Variable(0, dtype=tf.int64, trainable=False, name="images")
    if VARIANTS.get(cfg.variant).progressive:
        keras.utils.set_random_seed(int(cfg.seed))
        nets = ProgressiveNets(cfg)
        G, D = nets.generator(nets.L), nets.discriminator(nets.L)  # builds every level's weights...
        for level in range(1, nets.L + 1):                        # ...including the fade paths' toRGB/fromRGB
            nets.generator(level, fading=True)
            nets.discriminator(level, fading=True)
        nets_ema = G_ema = None
        if cfg.ema > 0:
            nets_ema = ProgressiveNets(cfg, discriminator=False)
            G_ema = nets_ema.generator(nets_ema.L)
            for level in range(1, nets_ema.L + 1):
                nets_ema.generator(level, fading=True)
            for e, w in zip(_variables(nets_ema.g_layers()), _variables(nets.g_layers())):
                e.assign(w)
        opt_g.build(_variables(nets.g_layers()))
        opt_d.build(_variables(nets.d_layers()))
        return TrainState(cfg, G, D, G_ema, opt_g, opt_d, step, images, nets, nets_ema)
    G, D = build_models(cfg)
    spec = VARIANTS.get(cfg.variant)
    recipe = spec.recipe(cfg, G) if spec.recipe is not None else None
    if recipe is not None:  # e.g. lazy regularisation's Adam settings
        opt_g = _optimizer(cfg, *recipe.adam("g", cfg.lr_g, cfg.beta1, cfg.beta2))
        opt_d = _optimizer(cfg, *recipe.adam("d", cfg.lr_d, cfg.beta1, cfg.beta2))
    G_ema = None
    if cfg.ema > 0 or getattr(recipe, "keeps_ema", False):
        G_ema = keras.models.clone_model(G)
        G_ema.set_weights(G.get_weights())
    opt_g.build(G.trainable_variables)
    opt_d.build(D.trainable_variables)
    return TrainState(cfg, G, D, G_ema, opt_g, opt_d, step, images, recipe=recipe,
                      extra=recipe.variables() if recipe is not None else None)


def _variables(layers) -> list:
    return [v for layer in layers for v in layer.trainable_variables]

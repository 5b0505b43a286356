"""A run as a sequence of segments: stretches with fixed models, batch size and step function.

A fixed-resolution variant is one segment that ends at --steps. A progressive run (pggan) has
one segment per phase of its growth plan (gantool.train.progressive), each with its own stage
models and compiled step; which segment applies is a pure function of the images shown.
"""

from __future__ import annotations

import numpy as np

from gantool.images import generation_batch, shrink_pixels, to_uint8
from gantool.models import VARIANTS
from gantool.train.progressive import alpha_at, batch_table, locate, plan
from gantool.train.step import make_steps


class Segment:
    name = ""
    res = 0
    batch = 0
    fading = False
    phase = None

    def done(self, step: int, images: int) -> bool:
        raise NotImplementedError

    def alpha(self, images: int) -> float:
        return 1.0

    def generate(self, z: np.ndarray, alpha: float, batch: int | None = None) -> np.ndarray:
        """uint8 images from the sampling generator (EMA when there is one), inference mode,
        `batch` at a time (default: gantool.images.generation_batch of the resolution)."""
        return np.concatenate([to_uint8(x) for x in self._outputs(z, alpha, batch)], axis=0)

    def generate_small(self, z: np.ndarray, alpha: float, side: int) -> np.ndarray:
        """What `generate` gives, box-filtered to side x side (gantool.images.shrink_pixels: on the
        model's device when side divides the resolution), as float32 pixel values 0..255."""
        return np.concatenate([shrink_pixels(x, side) for x in self._outputs(z, alpha, None)], axis=0)

    def _outputs(self, z: np.ndarray, alpha: float, batch: int | None):
        """The sampling generator's float outputs, `batch` latents at a time."""
        model = self.sampler
        batch = batch or generation_batch(self.res)
        for i in range(0, len(z), batch):
            zb = z[i:i + batch]
            yield model([zb, np.full((len(zb), 1), alpha, np.float32)], training=False) if self.fading else model(zb, training=False)


class FixedSegment(Segment):
    def __init__(self, state):
        cfg = state.cfg
        self.cfg, self.res, self.batch, self.name = cfg, cfg.size, cfg.batch, f"{cfg.size}px"
        self.sampler = state.sampler
        self.train_step, self.alt_step = make_steps(state, batch=cfg.batch)

    def done(self, step: int, images: int) -> bool:
        return step >= self.cfg.steps


class PhaseSegment(Segment):
    def __init__(self, state, phase, data_size: int):
        self.phase, self.res, self.batch, self.fading, self.name = phase, phase.res, phase.batch, phase.fading, phase.name
        self._alpha = alpha_at
        nets, ema = state.nets, state.nets_ema
        G = nets.generator(phase.level, phase.fading)
        D = nets.discriminator(phase.level, phase.fading)
        G_ema = ema.generator(phase.level, phase.fading) if ema is not None else None
        self.sampler = G_ema if G_ema is not None else G
        self.stable_models = None
        if not phase.fading:
            self.stable_models = (G, G_ema)
        self.train_step, self.alt_step = make_steps(state, G, D, G_ema, fading=phase.fading,
                                                    factor=data_size // phase.res, batch=phase.batch)

    def done(self, step: int, images: int) -> bool:
        return images >= self.phase.end

    def alpha(self, images: int) -> float:
        return self._alpha(self.phase, images)


class FixedSchedule:
    progressive = False

    def __init__(self, state):
        self.state = state
        self._seg = None

    def at(self, step: int, images: int):
        if step >= self.state.cfg.steps:
            return None
        if self._seg is None:
            self._seg = FixedSegment(self.state)
        return self._seg


class ProgressiveSchedule:
    progressive = True

    def __init__(self, state, data_size: int):
        cfg = state.cfg
        self.state, self.data_size = state, data_size
        self.phases = plan(cfg.size, cfg.fade_kimg, cfg.stable_kimg, batch_table(cfg.size, cfg.batch_schedule),
                           cfg.total_kimg)
        self._cache = {}

    def at(self, step: int, images: int):
        phase = locate(self.phases, images)
        if phase is None:
            return None
        if phase.index not in self._cache:
            self._cache.clear()  # one stage's compiled step at a time
            self._cache[phase.index] = PhaseSegment(self.state, phase, self.data_size)
        return self._cache[phase.index]


def schedule_for(state, data_size: int):
    if VARIANTS.get(state.cfg.variant).progressive:
        return ProgressiveSchedule(state, data_size)
    return FixedSchedule(state)

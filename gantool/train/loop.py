"""The fixed-resolution training loop: data -> compiled step -> logs, samples, checkpoints.

Library code (habit 1): it never prints; progress goes through `progress(done, total, info)`.
Stops: at cfg.steps; on SIGINT/SIGTERM after the current step (a checkpoint is saved, the result
says interrupted; a second Ctrl-C aborts at once); on a non-finite loss (RunError, nothing of
the bad step is saved, the last good checkpoint stays).

--alt-every N (the megapixel report's "additional step for updating alternatively the
generator and the discriminator every 50 steps"): after the regular step whose 1-based number
is a multiple of N, one extra G update and then one extra D update run on the same real batch
with fresh z. They do not advance the step counter or the data position.

Scale: the loop creates the run's tf.distribute strategy (gantool.train.distribute) before
anything else touches TensorFlow, builds the state in its scope and hands each global batch to
the step as per-replica slices. Only the chief writes the run folder; another worker of a
multiworker cluster writes its checkpoints (and nothing else) to a scratch folder, removed at
the end, and reports a digest of its weights so a caller can check that the workers agree.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from gantool import faults
from gantool.errors import DataError, RunError, UsageError
from gantool.images import grid, write_png
from gantool.latent import fixed_latents
from gantool.stopflag import StopFlag

PFD_SAMPLES = 256
LEVELS = ("ada_p", "pl_mean")  # logged as their value at the line's step (the others: means since the last line)


@dataclass
class TrainResult:
    run_dir: str
    variant: str
    dataset: str
    start_step: int
    step: int
    steps: int
    seconds: float
    img_per_s: float
    last: dict
    pfd8: float | None
    checkpoint: str | None
    generator: str | None
    samples: str | None
    losses_png: str | None
    interrupted: bool = False
    notes: list = field(default_factory=list)
    strategy: str = "default"
    replicas: int = 1
    task: str = "chief"
    weights_sha256: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def run_training(cfg, progress: Callable | None = None, resume: bool = False) -> TrainResult:
    loop = Loop(cfg, progress or (lambda done, total, info="": None), resume)
    loop.first_samples()
    with StopFlag() as stop:
        try:
            loop.train(stop)
        finally:
            loop.events.close()
    return loop.result()


class Loop:
    """One training session of a run: setup (strategy, dataset, state, checkpoint, logs), the
    segments' steps, and per step the logging, sampling, pfd8 and checkpoints it is due."""

    def __init__(self, cfg, progress: Callable, resume: bool):
        from gantool.tfquiet import import_tf  # noqa: PLC0415
        from gantool.train import distribute  # noqa: PLC0415

        self.cfg, self.progress, self.resume = cfg, progress, resume
        import_tf()
        self.dist = distribute.make(cfg.strategy)  # before any other TF op (MultiWorkerMirroredStrategy)
        self.run = Path(cfg.run_dir)
        self.ds = self._open_dataset()
        self.chief = self.dist.is_chief
        self.scratch = None if self.chief else Path(tempfile.mkdtemp(prefix="gantool-worker-"))
        self.writes = self.run if self.chief else self.scratch  # where this process writes
        (self.writes / "samples").mkdir(parents=True, exist_ok=True)
        self._restore()
        self.real_stats: dict[int, tuple] = {}
        self.grid_z = fixed_latents(cfg.seed, 0, cfg.grid * cfg.grid, cfg.z_dim, cfg.latent)
        self.pfd_z = fixed_latents(cfg.seed, 1, PFD_SAMPLES if cfg.size <= 256 else 64, cfg.z_dim, cfg.latent)
        self.samples_path = self.pfd8 = self.checkpoint_path = self.seg = None
        self.interrupted = False

    def _open_dataset(self):
        from gantool.data.shards import open_dataset  # noqa: PLC0415

        cfg, dist = self.cfg, self.dist
        ds = open_dataset(cfg.data)
        want = (cfg.data_size or cfg.size, cfg.channels)
        if (ds.size, ds.channels) != want:
            raise DataError(f"dataset {cfg.data} is {ds.size}px x{ds.channels}, the run expects {want[0]}px x{want[1]}")
        split = dist.replicas * cfg.grad_accum
        for res, b in cfg.batches().items():
            if b % split:
                raise UsageError(f"--batch: the global batch {b} (at {res} px) must be a multiple of {dist.replicas} "
                                 f"replica(s) x --grad-accum {cfg.grad_accum} = {split}")
        return ds

    def _restore(self) -> None:
        """The state, its checkpointer and logs; on resume the latest checkpoint's step and images."""
        from gantool.train.checkpoint import Checkpointer  # noqa: PLC0415
        from gantool.run.metrics import MetricsLog  # noqa: PLC0415
        from gantool.train.logs import Events  # noqa: PLC0415
        from gantool.train.segments import schedule_for  # noqa: PLC0415
        from gantool.train.state import build_state  # noqa: PLC0415

        cfg = self.cfg
        self.state = build_state(cfg, self.dist)
        self.ckpt = Checkpointer(self.writes, self.state, cfg.keep, restore_from=self.run / "checkpoints")
        self.start = (self.ckpt.restore_latest() or 0) if self.resume else 0
        self.images = int(self.state.images.numpy()) if self.start else 0
        self.metrics = MetricsLog(self.writes / "metrics.jsonl")
        self.metrics.truncate_after(self.start if self.start else -1)
        self.events = Events(self.writes)
        self.schedule = schedule_for(self.state, self.ds.size)
        self.progressive = self.schedule.progressive
        self.step = self.start
        self.saved_at = self.start if self.resume and self.start else None

    # ---- outputs: grids, pfd8, completed stages
    def sample_grid(self, seg, step: int, images: int, name: str | None = None) -> str | None:
        if not self.chief:
            return None
        cfg = self.cfg
        img = grid(seg.generate(self.grid_z, seg.alpha(images)), cols=cfg.grid)
        tag = f"-{seg.res}px" if self.progressive else ""
        path = self.run / "samples" / (name or f"step-{step:07d}{tag}.png")
        write_png(path, img, scale=max(1, 256 // (seg.res * cfg.grid)))
        self.events.image(step, "samples", img)
        return str(path)

    def measure(self, seg, step: int, images: int) -> float | None:
        from gantool.train import quality  # noqa: PLC0415

        if not self.chief:
            return None
        side = min(quality.PFD_SIDE, seg.res)
        if side not in self.real_stats:
            self.real_stats[side] = quality.real_stats(self.ds, side=side)
        q = quality.pfd_small(seg.generate_small(self.pfd_z, seg.alpha(images), side), self.real_stats[side])
        self.metrics.append({"step": step, "pfd8": q, **self.stage(seg, seg.alpha(images)), "time": time.time()})
        self.events.scalars(step, {"pfd8": q})
        # "best" compares like with like: only models at the final resolution, fully faded in
        return q if seg.res == self.cfg.size and not seg.fading else None

    def stage(self, seg, alpha: float) -> dict:
        if not self.progressive:
            return {}
        return {"res": seg.res, "phase": "fade" if seg.fading else "stable", "alpha": alpha}

    def complete_stage(self, seg, step: int, images: int) -> str:
        """A resolution finished its stabilise phase: keep its generator(s) and a grid."""
        G, G_ema = seg.stable_models
        if not self.chief:
            return None
        self.ckpt.save_keras(G, f"generator-{seg.res}px.keras")
        if G_ema is not None:
            self.ckpt.save_keras(G_ema, f"generator_ema-{seg.res}px.keras")
        return self.sample_grid(seg, step, images, f"stage-{seg.res}px.png")

    # ---- the steps
    def first_samples(self) -> None:
        """A fresh run's pfd8 and grid at step 0."""
        first = self.schedule.at(self.start, self.images)
        if self.start == 0 and first is not None:
            self.pfd8 = self.measure(first, 0, 0)
            self.samples_path = self.sample_grid(first, 0, 0)

    def train(self, stop) -> None:
        """Every segment's steps until the run's end or a stop request; then final.png."""
        self.t_start = time.monotonic()
        self.start_images = self.images
        self.elapsed0 = float(self.ckpt.info.get("elapsed", 0.0)) if self.start else 0.0  # seconds before this session
        self.t_log, self.n_log, self.acc, self.last = self.t_start, 0, {}, {}
        while not self.interrupted:
            nxt = self.schedule.at(self.step, self.images)
            if nxt is None:
                break
            self.seg = nxt
            self.run_segment(nxt, stop)
        if not self.interrupted and self.seg is not None and self.step > self.start:
            self.samples_path = self.sample_grid(self.seg, self.step, self.images, "final.png")

    def run_segment(self, seg, stop) -> None:
        from gantool.data.pipeline import make_dataset  # noqa: PLC0415
        from gantool.train import distribute  # noqa: PLC0415

        data = iter(make_dataset(self.ds, seg.batch, self.cfg.seed, start_image=self.images,
                                 subset=self.cfg.subset))
        while not seg.done(self.step, self.images):
            batch = next(data)
            alpha = np.float32(seg.alpha(self.images))
            self.one_step(seg, distribute.local_slice(self.dist, batch), alpha)
            self.after_step(seg, alpha, stop)
            if stop.requested:
                self.interrupted = True
                break

    def one_step(self, seg, batch, alpha) -> None:
        """The compiled step (and --alt-every's extra update); stops on a non-finite loss."""
        cfg = self.cfg
        out = seg.train_step(batch, alpha)
        faults.point("train.step")
        self.step += 1
        self.images += seg.batch
        if cfg.alt_every and self.step % cfg.alt_every == 0:
            alt_out = seg.alt_step(batch, alpha)
            out = {k: (out[k] + alt_out[k]) / 2 for k in out}
        last = self.last = {k: float(v) for k, v in out.items()}
        if not all(math.isfinite(v) for v in last.values()):
            good = f"the last good checkpoint is step {self.saved_at}" if self.saved_at else "no checkpoint was saved"
            raise RunError(
                f"non-finite loss at step {self.step} ({', '.join(f'{k}={v:g}' for k, v in last.items())}); "
                f"{good}; try lower --lr-d/--lr-g, --loss lsgan or --spectral-norm")
        for k, v in last.items():
            self.acc[k] = self.acc.get(k, 0.0) + v
        self.n_log += 1

    def after_step(self, seg, alpha, stop) -> None:
        """What the step just taken is due: a log line, a grid, a stage's models, a checkpoint."""
        cfg, step, images = self.cfg, self.step, self.images
        if step % cfg.log_every == 0 or seg.done(step, images):  # and at every phase's end
            self.log(seg, alpha)
        if cfg.sample_every and step % cfg.sample_every == 0:
            self.samples_path = self.sample_grid(seg, step, images)
        finished = seg.done(step, images)
        if finished and seg.phase is not None and not seg.fading:
            self.samples_path = self.complete_stage(seg, step, images)
        if (step % cfg.ckpt_every == 0 or stop.requested
                or (finished and self.schedule.at(step, images) is None)):
            self.pfd8 = self.measure(seg, step, images)
            self.checkpoint_path = self.ckpt.save(self.pfd8, elapsed=self.elapsed0 + time.monotonic() - self.t_start)
            self.saved_at = step
        rate = (images - self.start_images) / max(time.monotonic() - self.t_start, 1e-9)
        last = self.last
        self.progress(min(step, cfg.steps), cfg.steps,
                      f"{seg.name} d {last['d_loss']:.3f} g {last['g_loss']:.3f} {rate:.0f} img/s")

    def log(self, seg, alpha) -> None:
        """metrics.jsonl and TensorBoard: the losses averaged since the last line, img/s, time."""
        now = time.monotonic()
        rec = {"step": self.step, "kimg": self.images / 1000, **self.stage(seg, float(alpha)),
               **{k: v / self.n_log for k, v in self.acc.items()},
               **{k: self.last[k] for k in LEVELS if k in self.last},  # their value now, not a mean
               "img_per_s": self.n_log * seg.batch / max(now - self.t_log, 1e-9),
               "elapsed": self.elapsed0 + now - self.t_start, "time": time.time()}
        self.metrics.append(rec)
        self.events.scalars(self.step, {k: v for k, v in rec.items() if isinstance(v, float) and k != "time"})
        self.acc, self.t_log, self.n_log = {}, now, 0

    # ---- the end
    def result(self) -> TrainResult:
        """Weights digest, losses.png (chief) or the scratch folder removed (other workers)."""
        from gantool.train.logs import plot_losses  # noqa: PLC0415

        cfg, run, dist = self.cfg, self.run, self.dist
        digest = weights_sha256(self.state)
        losses_png = run / "losses.png"
        title = f"{cfg.variant} on {cfg.dataset_name} ({cfg.loss})"
        if not self.chief:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.checkpoint_path = self.samples_path = losses_png = None
        elif not plot_losses(self.metrics.read(), losses_png, title):
            losses_png = None
        seconds = time.monotonic() - self.t_start
        return TrainResult(
            run_dir=str(run), variant=cfg.variant, dataset=cfg.data, start_step=self.start, step=self.step,
            steps=cfg.steps, seconds=seconds, img_per_s=(self.images - self.start_images) / max(seconds, 1e-9),
            last=self.last, pfd8=self.pfd8, checkpoint=self.checkpoint_path,
            generator=str(run / "checkpoints" / "generator.keras") if self.chief else None,
            samples=self.samples_path, losses_png=str(losses_png) if losses_png else None,
            interrupted=self.interrupted, notes=list(self.ckpt.notes), strategy=dist.name, replicas=dist.replicas,
            task=dist.task, weights_sha256=digest,
        )


def weights_sha256(state) -> str:
    """sha256 over G's and D's weights (in order, as float32 bytes): equal on every worker of a
    cluster, and equal between runs whose weights are bit-identical."""
    h = hashlib.sha256()
    for model in (state.G, state.D):
        for w in model.weights:
            h.update(np.ascontiguousarray(np.asarray(w.numpy(), dtype=np.float32)).tobytes())
    return h.hexdigest()

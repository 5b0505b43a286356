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
import signal
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

PFD_SAMPLES = 256


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


class StopFlag:
    """SIGINT/SIGTERM -> finish the current step, save, stop. A second SIGINT aborts."""

    def __init__(self):
        self.requested = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        self.requested = signal.Signals(signum).name
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


def latents(cfg, n: int, stream: int) -> np.ndarray:
    """Fixed z for grids and pfd8, a pure function of (seed, stream), cfg.latent's distribution."""
    return fixed_latents(cfg.seed, stream, n, cfg.z_dim, cfg.latent)


def run_training(cfg, progress: Callable | None = None, resume: bool = False) -> TrainResult:
    from gantool.data.pipeline import make_dataset  # noqa: PLC0415
    from gantool.data.shards import open_dataset  # noqa: PLC0415
    from gantool.tfquiet import import_tf  # noqa: PLC0415
    from gantool.train import quality  # noqa: PLC0415
    from gantool.train.checkpoint import Checkpointer  # noqa: PLC0415
    from gantool.train.logs import Events, MetricsLog, plot_losses  # noqa: PLC0415
    from gantool.train.state import build_state  # noqa: PLC0415
    from gantool.train.segments import schedule_for  # noqa: PLC0415
    from gantool.train import distribute  # noqa: PLC0415

    progress = progress or (lambda done, total, info="": None)
    import_tf()
    dist = distribute.make(cfg.strategy)  # before any other TF op (MultiWorkerMirroredStrategy)
    run = Path(cfg.run_dir)
    ds = open_dataset(cfg.data)
    want = (cfg.data_size or cfg.size, cfg.channels)
    if (ds.size, ds.channels) != want:
        raise DataError(f"dataset {cfg.data} is {ds.size}px x{ds.channels}, the run expects {want[0]}px x{want[1]}")
    split = dist.replicas * cfg.grad_accum
    for res, b in cfg.batches().items():
        if b % split:
            raise UsageError(f"--batch: the global batch {b} (at {res} px) must be a multiple of {dist.replicas} "
                             f"replica(s) x --grad-accum {cfg.grad_accum} = {split}")
    chief = dist.is_chief
    scratch = None if chief else Path(tempfile.mkdtemp(prefix="gantool-worker-"))
    writes = run if chief else scratch  # where this process writes
    (writes / "samples").mkdir(parents=True, exist_ok=True)

    state = build_state(cfg, dist)
    ckpt = Checkpointer(writes, state, cfg.keep, restore_from=run / "checkpoints")
    start = (ckpt.restore_latest() or 0) if resume else 0
    images = int(state.images.numpy()) if start else 0
    metrics = MetricsLog(writes / "metrics.jsonl")
    metrics.truncate_after(start if start else -1)
    events = Events(writes)
    real_stats: dict[int, tuple] = {}
    grid_z = latents(cfg, cfg.grid * cfg.grid, 0)
    pfd_z = latents(cfg, PFD_SAMPLES if cfg.size <= 256 else 64, 1)
    schedule = schedule_for(state, ds.size)
    progressive = schedule.progressive

    def sample_grid(seg, step: int, images: int, name: str | None = None) -> str | None:
        if not chief:
            return None
        img = grid(seg.generate(grid_z, seg.alpha(images)), cols=cfg.grid)
        tag = f"-{seg.res}px" if progressive else ""
        path = run / "samples" / (name or f"step-{step:07d}{tag}.png")
        write_png(path, img, scale=max(1, 256 // (seg.res * cfg.grid)))
        events.image(step, "samples", img)
        return str(path)

    def measure(seg, step: int, images: int) -> float | None:
        if not chief:
            return None
        side = min(quality.PFD_SIDE, seg.res)
        if side not in real_stats:
            real_stats[side] = quality.real_stats(ds, side=side)
        q = quality.pfd(seg.generate(pfd_z, seg.alpha(images)), real_stats[side])
        metrics.append({"step": step, "pfd8": q, **stage(seg, seg.alpha(images)), "time": time.time()})
        events.scalars(step, {"pfd8": q})
        # "best" compares like with like: only models at the final resolution, fully faded in
        return q if seg.res == cfg.size and not seg.fading else None

    def stage(seg, alpha: float) -> dict:
        if not progressive:
            return {}
        return {"res": seg.res, "phase": "fade" if seg.fading else "stable", "alpha": alpha}

    def complete_stage(seg, step: int, images: int) -> str:
        """A resolution finished its stabilise phase: keep its generator(s) and a grid."""
        G, G_ema = seg.stable_models
        if not chief:
            return None
        ckpt.save_keras(G, f"generator-{seg.res}px.keras")
        if G_ema is not None:
            ckpt.save_keras(G_ema, f"generator_ema-{seg.res}px.keras")
        return sample_grid(seg, step, images, f"stage-{seg.res}px.png")

    samples_path = None
    pfd8 = None
    first = schedule.at(start, images)
    if start == 0 and first is not None:
        pfd8 = measure(first, 0, 0)
        samples_path = sample_grid(first, 0, 0)

    t_start = time.monotonic()
    start_images = images
    elapsed0 = float(ckpt.info.get("elapsed", 0.0)) if start else 0.0  # training seconds before this session
    t_log, n_log = t_start, 0
    acc: dict[str, float] = {}
    last: dict[str, float] = {}
    step = start
    saved_at = start if resume and start else None
    checkpoint_path = None
    interrupted = False
    total_steps = cfg.steps
    seg = None
    with StopFlag() as stop:
        try:
            while not interrupted:
                nxt = schedule.at(step, images)
                if nxt is None:
                    break
                seg = nxt
                data = iter(make_dataset(ds, seg.batch, cfg.seed, start_image=images))
                while not seg.done(step, images):
                    batch = next(data)
                    alpha = np.float32(seg.alpha(images))
                    batch = distribute.local_slice(dist, batch)
                    out = seg.train_step(batch, alpha)
                    faults.point("train.step")
                    step += 1
                    images += seg.batch
                    if cfg.alt_every and step % cfg.alt_every == 0:
                        alt_out = seg.alt_step(batch, alpha)
                        out = {k: (out[k] + alt_out[k]) / 2 for k in out}
                    last = {k: float(v) for k, v in out.items()}
                    if not all(math.isfinite(v) for v in last.values()):
                        good = f"the last good checkpoint is step {saved_at}" if saved_at else "no checkpoint was saved"
                        raise RunError(
                            f"non-finite loss at step {step} ({', '.join(f'{k}={v:g}' for k, v in last.items())}); "
                            f"{good}; try lower --lr-d/--lr-g, --loss lsgan or --spectral-norm")
                    for k, v in last.items():
                        acc[k] = acc.get(k, 0.0) + v
                    n_log += 1
                    if step % cfg.log_every == 0 or seg.done(step, images):  # and at every phase's end
                        now = time.monotonic()
                        rec = {"step": step, "kimg": images / 1000, **stage(seg, float(alpha)),
                               **{k: v / n_log for k, v in acc.items()},
                               "img_per_s": n_log * seg.batch / max(now - t_log, 1e-9),
                               "elapsed": elapsed0 + now - t_start, "time": time.time()}
                        metrics.append(rec)
                        events.scalars(step, {k: v for k, v in rec.items() if isinstance(v, float) and k != "time"})
                        acc, t_log, n_log = {}, now, 0
                    if cfg.sample_every and step % cfg.sample_every == 0:
                        samples_path = sample_grid(seg, step, images)
                    finished = seg.done(step, images)
                    if finished and seg.phase is not None and not seg.fading:
                        samples_path = complete_stage(seg, step, images)
                    if (step % cfg.ckpt_every == 0 or stop.requested
                            or (finished and schedule.at(step, images) is None)):
                        pfd8 = measure(seg, step, images)
                        checkpoint_path = ckpt.save(pfd8, elapsed=elapsed0 + time.monotonic() - t_start)
                        saved_at = step
                    rate = (images - start_images) / max(time.monotonic() - t_start, 1e-9)
                    progress(min(step, total_steps), total_steps,
                             f"{seg.name} d {last['d_loss']:.3f} g {last['g_loss']:.3f} {rate:.0f} img/s")
                    if stop.requested:
                        interrupted = True
                        break
            if not interrupted and seg is not None and step > start:
                samples_path = sample_grid(seg, step, images, "final.png")
        finally:
            events.close()
    digest = weights_sha256(state)
    losses_png = run / "losses.png"
    title = f"{cfg.variant} on {cfg.dataset_name} ({cfg.loss})"
    if not chief:
        shutil.rmtree(scratch, ignore_errors=True)
        checkpoint_path = samples_path = losses_png = None
    elif not plot_losses(metrics.read(), losses_png, title):
        losses_png = None
    seconds = time.monotonic() - t_start
    return TrainResult(
        run_dir=str(run), variant=cfg.variant, dataset=cfg.data, start_step=start, step=step, steps=cfg.steps,
        seconds=seconds, img_per_s=(images - start_images) / max(seconds, 1e-9), last=last, pfd8=pfd8,
        checkpoint=checkpoint_path, generator=str(run / "checkpoints" / "generator.keras") if chief else None,
        samples=samples_path, losses_png=str(losses_png) if losses_png else None, interrupted=interrupted,
        notes=list(ckpt.notes), strategy=dist.name, replicas=dist.replicas, task=dist.task, weights_sha256=digest,
    )


def weights_sha256(state) -> str:
    """sha256 over G's and D's weights (in order, as float32 bytes): equal on every worker of a
    cluster, and equal between runs whose weights are bit-identical."""
    h = hashlib.sha256()
    for model in (state.G, state.D):
        for w in model.weights:
            h.update(np.ascontiguousarray(np.asarray(w.numpy(), dtype=np.float32)).tobytes())
    return h.hexdigest()

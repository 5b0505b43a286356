"""The fixed-resolution training loop: data -> compiled step -> logs, samples, checkpoints.

Library code (habit 1): it never prints; progress goes through `progress(done, total, info)`.
Stops: at cfg.steps; on SIGINT/SIGTERM after the current step (a checkpoint is saved, the result
says interrupted; a second Ctrl-C aborts at once); on a non-finite loss (RunError, nothing of
the bad step is saved, the last good checkpoint stays).

--alt-every N (the megapixel report's "additional step for updating alternatively the
generator and the discriminator every 50 steps"): after the regular step whose 1-based number
is a multiple of N, one extra G update and then one extra D update run on the same real batch
with fresh z. They do not advance the step counter or the data position.
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from gantool.errors import DataError, RunError
from gantool.images import grid, to_uint8, write_png

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
    rng = np.random.default_rng([int(cfg.seed), 7919, stream])
    if cfg.latent == "normal":
        return rng.standard_normal((n, cfg.z_dim)).astype(np.float32)
    return rng.uniform(-1.0, 1.0, (n, cfg.z_dim)).astype(np.float32)


def generate(model, z: np.ndarray, batch: int = 64) -> np.ndarray:
    """uint8 images of model(z) in inference mode, `batch` at a time."""
    out = [to_uint8(model(z[i:i + batch], training=False)) for i in range(0, len(z), batch)]
    return np.concatenate(out, axis=0)


def run_training(cfg, progress: Callable | None = None, resume: bool = False) -> TrainResult:
    from gantool.data.pipeline import make_dataset  # noqa: PLC0415
    from gantool.data.shards import open_dataset  # noqa: PLC0415
    from gantool.tfquiet import import_tf  # noqa: PLC0415
    from gantool.train import quality  # noqa: PLC0415
    from gantool.train.checkpoint import Checkpointer  # noqa: PLC0415
    from gantool.train.logs import Events, MetricsLog, plot_losses  # noqa: PLC0415
    from gantool.train.state import build_state  # noqa: PLC0415
    from gantool.train.step import make_steps  # noqa: PLC0415

    progress = progress or (lambda done, total, info="": None)
    import_tf()
    run = Path(cfg.run_dir)
    ds = open_dataset(cfg.data)
    if (ds.size, ds.channels) != (cfg.size, cfg.channels):
        raise DataError(f"dataset {cfg.data} is {ds.size}px x{ds.channels}, the run expects {cfg.size}px x{cfg.channels}")
    (run / "samples").mkdir(parents=True, exist_ok=True)

    state = build_state(cfg)
    ckpt = Checkpointer(run, state, cfg.keep)
    start = (ckpt.restore_latest() or 0) if resume else 0
    metrics = MetricsLog(run / "metrics.jsonl")
    metrics.truncate_after(start if start else -1)
    events = Events(run)
    real_stats = quality.real_stats(ds)
    grid_z = latents(cfg, cfg.grid * cfg.grid, 0)
    pfd_z = latents(cfg, PFD_SAMPLES if cfg.size <= 256 else 64, 1)
    scale = max(1, 256 // (cfg.size * cfg.grid))
    train_step, alt_step = make_steps(state)
    data = iter(make_dataset(ds, cfg.batch, cfg.seed, start))

    def sample_grid(step: int, name: str | None = None) -> str:
        img = grid(generate(state.sampler, grid_z), cols=cfg.grid)
        path = run / "samples" / (name or f"step-{step:07d}.png")
        write_png(path, img, scale=scale)
        events.image(step, "samples", img)
        return str(path)

    def measure(step: int) -> float:
        q = quality.pfd(generate(state.sampler, pfd_z), real_stats)
        metrics.append({"step": step, "pfd8": q, "time": time.time()})
        events.scalars(step, {"pfd8": q})
        return q

    samples_path = None
    pfd8 = None
    if start == 0:
        pfd8 = measure(0)
        samples_path = sample_grid(0)

    t_start = time.monotonic()
    elapsed0 = float(ckpt.info.get("elapsed", 0.0)) if start else 0.0  # training seconds before this session
    t_log, n_log = t_start, 0
    acc: dict[str, float] = {}
    last: dict[str, float] = {}
    step = start
    saved_at = start if resume and start else None
    checkpoint_path = None
    interrupted = False
    with StopFlag() as stop:
        try:
            while step < cfg.steps:
                batch = next(data)
                out = train_step(batch)
                step += 1
                if cfg.alt_every and step % cfg.alt_every == 0:
                    alt_out = alt_step(batch)
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
                if step % cfg.log_every == 0 or step == cfg.steps:
                    now = time.monotonic()
                    rec = {"step": step, "kimg": step * cfg.batch / 1000, **{k: v / n_log for k, v in acc.items()},
                           "img_per_s": n_log * cfg.batch / max(now - t_log, 1e-9),
                           "elapsed": elapsed0 + now - t_start, "time": time.time()}
                    metrics.append(rec)
                    events.scalars(step, {k: v for k, v in rec.items() if k not in ("step", "time")})
                    acc, t_log, n_log = {}, now, 0
                if cfg.sample_every and step % cfg.sample_every == 0:
                    samples_path = sample_grid(step)
                if step % cfg.ckpt_every == 0 or step == cfg.steps or stop.requested:
                    pfd8 = measure(step)
                    checkpoint_path = ckpt.save(pfd8, elapsed=elapsed0 + time.monotonic() - t_start)
                    saved_at = step
                rate = (step - start) * cfg.batch / max(time.monotonic() - t_start, 1e-9)
                progress(step, cfg.steps, f"d {last['d_loss']:.3f} g {last['g_loss']:.3f} {rate:.0f} img/s")
                if stop.requested:
                    interrupted = True
                    break
            if not interrupted:
                samples_path = sample_grid(step, "final.png")
        finally:
            events.close()
    losses_png = run / "losses.png"
    title = f"{cfg.variant} on {cfg.dataset_name} ({cfg.loss})"
    if not plot_losses(metrics.read(), losses_png, title):
        losses_png = None
    seconds = time.monotonic() - t_start
    return TrainResult(
        run_dir=str(run), variant=cfg.variant, dataset=cfg.data, start_step=start, step=step, steps=cfg.steps,
        seconds=seconds, img_per_s=(step - start) * cfg.batch / max(seconds, 1e-9), last=last, pfd8=pfd8,
        checkpoint=checkpoint_path, generator=str(run / "checkpoints" / "generator.keras"),
        samples=samples_path, losses_png=str(losses_png) if losses_png else None, interrupted=interrupted,
        notes=list(ckpt.notes),
    )

"""Writing a run's checkpoints (gantool.run.checkpoints reads them): checkpoints/ckpt-STEP.* (the last --keep), checkpoints/best/ (lowest
pfd8 so far), and the generator alone as generator.keras (+ generator_ema.keras) for sample and
export, which need no training code.

TensorFlow writes each checkpoint under a temporary name and only then records it in the
`checkpoint` index (atomically), so a run killed mid-write still restores the previous one.
The .keras files and checkpoints/state.json are written beside and renamed into place.

Under --strategy multiworker every worker saves (TF requires it), but only the chief into the
run folder; the others save into a scratch folder and restore from the run folder's checkpoints,
which they must therefore be able to read (a shared filesystem, or a copy).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

from gantool import __version__, faults
from gantool.atomic import fsync_dir, write_json
from gantool.errors import RunError
from gantool.run.checkpoints import read_state, refuse_foreign
from gantool.run.layout import STATE, checkpoints_dir, generator_name
from gantool.tfquiet import import_tf


class Checkpointer:
    def __init__(self, run_dir: str | Path, state, keep: int, restore_from: str | Path | None = None):
        tf = self.tf = import_tf()
        self.dir = checkpoints_dir(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state = state
        self.ckpt = state.checkpoint()
        self.manager = tf.train.CheckpointManager(self.ckpt, str(self.dir), max_to_keep=keep,
                                                  checkpoint_name="ckpt")
        self.source = self.manager
        if restore_from is not None and Path(restore_from).resolve() != self.dir.resolve():
            self.source = tf.train.CheckpointManager(self.ckpt, str(restore_from), max_to_keep=keep,
                                                     checkpoint_name="ckpt")
        self.info = read_state(self.source.directory)
        self.notes: list[str] = []

    def restore_latest(self) -> int | None:
        """Restore the newest readable checkpoint; returns its step, or None if there is none.
        An unreadable newest checkpoint is skipped with a note (the previous one is used)."""
        for path in reversed(self.source.checkpoints):
            try:
                self.ckpt.restore(path).assert_existing_objects_matched()
            except ValueError as e:
                refuse_foreign(path, e)
                self.notes.append(f"skipped unreadable checkpoint {Path(path).name}: {type(e).__name__}")
                continue
            except Exception as e:  # noqa: BLE001  (torn: try the one before)
                self.notes.append(f"skipped unreadable checkpoint {Path(path).name}: {type(e).__name__}")
                continue
            return int(self.state.step.numpy())
        if self.source.checkpoints:
            raise RunError(f"no readable checkpoint in {self.source.directory} ({'; '.join(self.notes)})")
        return None

    def save(self, quality: float | None = None, elapsed: float = 0.0) -> str:
        """Checkpoint the current step. A failed write (disk full, quota, permissions) raises
        RunError naming the cause; what it half wrote is removed and the previous checkpoint,
        the index and the .keras files stay as they were."""
        step = int(self.state.step.numpy())
        try:
            return self._save(step, quality, elapsed)
        except (OSError, self.tf.errors.OpError) as e:
            for junk in self.dir.glob(f"ckpt-{step}_temp*"):
                shutil.rmtree(junk, ignore_errors=True)
            for junk in self.dir.glob(f".{os.getpid()}.tmp.keras"):
                junk.unlink(missing_ok=True)
            cause = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            cause = cause.split("; ")[-1].split(" [Op:")[0] if "[Op:" in cause else cause
            prev = self.manager.latest_checkpoint
            keep = f"the previous checkpoint {Path(prev).name} is intact" if prev else "no earlier checkpoint exists"
            raise RunError(f"cannot write the step-{step} checkpoint in {self.dir}: {cause}; {keep}") from None

    def _save(self, step: int, quality: float | None, elapsed: float) -> str:
        path = self.manager.save(checkpoint_number=step)
        faults.point("checkpoint.written")
        self.save_keras(self.state.G, generator_name())
        if self.state.G_ema is not None:
            self.save_keras(self.state.G_ema, generator_name(ema=True))
        best = self.info.get("best")
        if quality is not None and math.isfinite(quality) and (best is None or quality < best["pfd8"]):
            self._save_best(step, quality)
            best = {"step": step, "pfd8": quality}
        self.info = {"schema": 1, "gantool_version": __version__, "step": step, "checkpoint": Path(path).name,
                     "pfd8": quality, "best": best, "elapsed": elapsed, "time": time.time()}
        write_json(self.dir / STATE, self.info)
        return path

    def save_keras(self, model, name: str) -> None:
        """A model as checkpoints/NAME, renamed into place (also each completed pggan stage's
        generator-RESpx.keras, kept for good)."""
        tmp = self.dir / f".{os.getpid()}.tmp.keras"
        model.save(str(tmp))
        os.replace(tmp, self.dir / name)
        fsync_dir(self.dir)

    def _save_best(self, step: int, quality: float) -> None:
        tmp, best, old = self.dir / ".best.tmp", self.dir / "best", self.dir / ".best.old"
        for p in (tmp, old):
            shutil.rmtree(p, ignore_errors=True)
        tmp.mkdir()
        self.ckpt.write(str(tmp / "ckpt"))
        write_json(tmp / "best.json", {"step": step, "pfd8": quality})
        if best.exists():
            os.replace(best, old)
        os.replace(tmp, best)
        shutil.rmtree(old, ignore_errors=True)
        fsync_dir(self.dir)

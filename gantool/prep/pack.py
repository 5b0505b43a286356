"""Pack crops into .npz shards plus manifest.json, atomically.

Everything is written into a hidden staging folder next to the output
(`.NAME.partial-PID`); only when the manifest is complete is the folder renamed onto the
output path. A prep killed at any moment therefore leaves either no dataset or a complete
one; a stale staging folder (its PID gone) is removed by the next prep into that parent.

`--overwrite` swaps with two renames: the old dataset to `.NAME.old-PID`, then the staging folder
onto NAME. A kill between the two leaves nothing at NAME, the old dataset in `.NAME.old-PID` and
the new complete one in `.NAME.partial-PID`. `recover_swap(out)` finishes such a swap (the new
dataset goes to NAME; else the old one goes back) and is called by every command that touches a
dataset path (prep, `open_dataset`, the search under ./data) before anything stale is removed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from gantool import faults
from gantool.atomic import fsync_dir, pid_alive, sha256_file, write_json, write_with


def shard_name(i: int) -> str:
    return f"shard-{i:05d}.npz"


def _dead_scratch(out: Path, kind: str) -> dict[int, Path]:
    """`.NAME.KIND-PID` folders next to `out` whose process is gone, by PID."""
    found: dict[int, Path] = {}
    parent, prefix = out.parent, f".{out.name}.{kind}-"
    if not parent.is_dir():
        return found
    for entry in parent.iterdir():
        if entry.name.startswith(prefix):
            try:
                pid = int(entry.name[len(prefix):])
            except ValueError:
                continue
            if pid != os.getpid() and not pid_alive(pid):
                found[pid] = entry
    return found


def _complete(folder: Path) -> bool:
    from gantool.data.shards import open_dataset  # noqa: PLC0415
    from gantool.errors import GantoolError  # noqa: PLC0415

    try:
        open_dataset(folder, recover=False)
    except GantoolError:
        return False
    return True


def recover_swap(out: Path) -> str | None:
    """Finish an `--overwrite` swap that a killed prep left half done: when nothing is at `out`
    and a dead prep's `.NAME.old-PID` exists, its complete `.NAME.partial-PID` is moved onto
    `out` (the swap's intended result), else the old dataset is moved back. Returns what was
    restored, or None. That prep's other folder is removed only once `out` holds a complete
    dataset."""
    out = Path(out)
    if os.path.lexists(out):
        return None
    olds = _dead_scratch(out, "old")
    if not olds:
        return None
    partials = _dead_scratch(out, "partial")
    for pid in sorted(olds, reverse=True):
        for candidate in (partials.get(pid), olds[pid]):
            if candidate is not None and _complete(candidate):
                os.replace(candidate, out)
                fsync_dir(out.parent)
                for left in (partials.get(pid), olds[pid]):  # garbage now that `out` is complete
                    if left is not None and left != candidate:
                        shutil.rmtree(left, ignore_errors=True)
                return str(candidate)
    return None


def recover_swaps_under(root: Path) -> list[str]:
    """`recover_swap` for every dataset under `root` that a killed `--overwrite` left hidden."""
    root = Path(root)
    names = set()
    if root.is_dir():
        for entry in root.iterdir():
            name, sep, pid = entry.name.rpartition(".old-")
            if sep and name.startswith(".") and pid.isdigit():
                names.add(name[1:])
    return [r for n in sorted(names) if (r := recover_swap(root / n))]


def remove_stale_staging(out: Path) -> list[str]:
    """Delete `.NAME.partial-PID` and `.NAME.old-PID` folders left by killed preps of the same
    output, after `recover_swap` had its chance to restore a dataset from them."""
    recover_swap(out)
    removed = []
    stale = list(_dead_scratch(out, "partial").values())
    if out.exists():  # an old copy is only garbage once a dataset is in place
        stale += list(_dead_scratch(out, "old").values())
    for entry in stale:
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(str(entry))
    return removed


def make_staging(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def publish(staging: Path, out: Path) -> None:
    """Move a complete staging folder onto `out` (replacing an old dataset if present)."""
    fsync_dir(staging)
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
        faults.point("pack.swap")
    os.replace(staging, out)
    fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class ShardWriter:
    """Accumulates images in a preallocated buffer and writes a shard when it is full."""

    def __init__(self, folder: Path, shard_size: int, size: int, channels: int):
        self.folder = folder
        self.shard_size = shard_size
        self.shape = (size, size, channels)
        self._buf: np.ndarray | None = None
        self._n = 0
        self.shards: list[dict] = []
        self.count = 0

    def add(self, img: np.ndarray) -> tuple[int, int]:
        """Add one uint8 image; returns (shard index, index within shard)."""
        if img.shape != self.shape or img.dtype != np.uint8:
            raise ValueError(f"image {img.shape} {img.dtype} does not match {self.shape} uint8")
        if self._buf is None:
            self._buf = np.empty((self.shard_size,) + self.shape, dtype=np.uint8)
        pos = (len(self.shards), self._n)
        self._buf[self._n] = img
        self._n += 1
        self.count += 1
        if self._n == self.shard_size:
            self.flush()
        return pos

    def flush(self) -> None:
        if not self._n:
            return
        name = shard_name(len(self.shards))
        images = self._buf[: self._n]
        write_with(self.folder / name, lambda f: np.savez(f, images=images))
        self.shards.append({"file": name, "count": self._n, "sha256": sha256_file(self.folder / name)})
        self._n = 0

    def close(self) -> None:
        self.flush()
        self._buf = None


def write_manifest(folder: Path, manifest: dict) -> None:
    write_json(folder / "manifest.json", manifest)

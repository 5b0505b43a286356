"""Pack crops into .npz shards plus manifest.json, atomically.

Everything is written into a hidden staging folder next to the output
(`.NAME.partial-PID`); only when the manifest is complete is the folder renamed onto the
output path. A prep killed at any moment therefore leaves either no dataset or a complete
one; a stale staging folder (its PID gone) is removed by the next prep into that parent.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from gantool.atomic import fsync_dir, pid_alive, sha256_file, write_json, write_with


def shard_name(i: int) -> str:
    return f"shard-{i:05d}.npz"


def remove_stale_staging(out: Path) -> list[str]:
    """Delete `.NAME.partial-PID` folders left by killed preps of the same output."""
    removed = []
    parent = out.parent
    if not parent.is_dir():
        return removed
    prefix = f".{out.name}.partial-"
    for entry in parent.iterdir():
        if entry.name.startswith(prefix):
            try:
                pid = int(entry.name[len(prefix):])
            except ValueError:
                continue
            if pid != os.getpid() and not pid_alive(pid):
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

"""Pack crops into .npz shards plus manifest.json, atomically.

Everything is written into a hidden staging folder next to the output
(`.NAME.partial-PID`); only when the manifest is complete is the folder renamed onto the
output path. A prep killed at any moment therefore leaves either no dataset or a complete
one; a stale staging folder (its PID gone) is removed by the next prep into that parent.

Staging, publishing and the `--overwrite` swap with its recovery live in gantool.data.swap
(readers recover a half-done swap too, and sit below prep).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gantool.atomic import sha256_file, write_json, write_with
from gantool.data.swap import make_staging, publish, recover_swap, remove_stale_staging  # noqa: F401


def shard_name(i: int) -> str:
    return f"shard-{i:05d}.npz"


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

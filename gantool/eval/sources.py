"""Where eval's images come from, each streamed in uint8 NHWC batches so memory stays bounded:
a generator (a run, a .keras file or a checkpoint), a folder of image files, an .npz array, and
the real dataset (all of it or a seeded random subset, box-filtered to the generator's size).

Every source yields images already conformed to the evaluation's size and channel count, so
the metrics never see mismatched shapes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from gantool.errors import DataError, UsageError
from gantool.images import downscale_area, generation_batch
from gantool.prep.imageio import DecodeError, decode_file
from gantool.sample import z_for
from gantool.sizes import IMAGE_EXTENSIONS, fits_size


def conform(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, size, size, channels) uint8: area filter to shrink, cubic to
    enlarge, grey <-> RGB by luma weights / repetition."""
    import cv2  # noqa: PLC0415

    if images.shape[-1] != channels:
        if channels == 1:
            luma = images.astype(np.float32) @ np.asarray([0.299, 0.587, 0.114], np.float32)
            images = np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]
        else:
            images = np.repeat(images, 3, axis=-1)
    if images.shape[1] == size and images.shape[2] == size:
        return images
    if images.shape[1] >= size and images.shape[2] >= size:
        return np.clip(np.rint(downscale_area(images, size)), 0, 255).astype(np.uint8)
    out = np.empty((len(images), size, size, channels), np.uint8)
    for i, img in enumerate(images):
        out[i] = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC).reshape(size, size, channels)
    return out


class GeneratorSource:
    """`count` images of a generator; image i uses z_for(seed, i): the same as `gantool sample`."""

    def __init__(self, gen, count: int, seed: int, zrange: float | None, truncation: float | None):
        self.gen, self.count, self.seed = gen, count, seed
        self.zrange, self.truncation = zrange, truncation
        self.size = gen.resolution
        self.channels = int(gen.model.output_shape[-1])
        self.native = self.size

    def batches(self, batch: int) -> Iterator[np.ndarray]:
        step = min(batch, generation_batch(self.size))  # a megapixel generator makes few at a time
        for start in range(0, self.count, batch):
            idx = range(start, min(self.count, start + batch))
            z = np.stack([z_for(self.seed, i, self.gen.z_dim, self.gen.latent, self.zrange, self.truncation) for i in idx])
            yield np.concatenate([self.gen(z[i:i + step]) for i in range(0, len(z), step)])


def _decode(path: Path) -> np.ndarray:
    """One image file -> (H, W, 1|3) uint8, through prep's decoder (EXIF orientation, alpha onto
    white, 16-bit, and its guards: a decompression-bomb header is refused before any pixel is
    decoded), or DataError naming the file and the reason."""
    try:
        return decode_file(str(path), keep_grey=True)
    except DecodeError as e:
        raise DataError(f"--fake: cannot decode {path} ({e.reason}: {e.detail})") from None


class FolderSource:
    """Image files in a folder (sorted by name, not recursive)."""

    def __init__(self, folder: Path, limit: int | None):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not files:
            raise UsageError(f"--fake: no image files ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
        self.files = files[:limit] if limit else files
        self.count = len(self.files)
        first = _decode(self.files[0])
        self.native, self.channels = first.shape[0], first.shape[2]
        self.size = self.native
        self.target: tuple[int, int] | None = None

    def batches(self, batch: int) -> Iterator[np.ndarray]:
        size, channels = self.target or (self.size, self.channels)
        for start in range(0, self.count, batch):
            yield np.concatenate([conform(_decode(p)[None], size, channels) for p in self.files[start:start + batch]])


class ArraySource:
    """An .npz holding uint8 NHWC images under 'images' (or its only array); read without pickle."""

    def __init__(self, path: Path, limit: int | None):
        try:
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                key = "images" if "images" in keys else keys[0] if len(keys) == 1 else None
                if key is None:
                    raise UsageError(f"--fake: {path} has no 'images' array (arrays: {', '.join(keys)})")
                arr = z[key]
        except (OSError, ValueError) as e:
            raise UsageError(f"--fake: cannot read {path}: {e}") from None
        if arr.ndim == 3:
            arr = arr[..., None]
        if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4) or len(arr) == 0:
            raise UsageError(f"--fake: {path} holds {arr.dtype} {arr.shape}; expected uint8 (N, H, W, 1|3)")
        self.images = arr[:limit, :, :, :3] if limit else arr[..., :3]
        self.count = len(self.images)
        self.native, self.channels = arr.shape[1], self.images.shape[-1]
        self.size = self.native
        self.target: tuple[int, int] | None = None

    def batches(self, batch: int) -> Iterator[np.ndarray]:
        size, channels = self.target or (self.size, self.channels)
        for start in range(0, self.count, batch):
            yield conform(self.images[start:start + batch], size, channels)


def open_fake(path: str, limit: int | None):
    p = Path(path)
    if p.is_dir():
        src = FolderSource(p, limit)
    elif p.is_file() and p.suffix == ".npz":
        src = ArraySource(p, limit)
    else:
        raise UsageError(f"--fake: {path} is neither a folder of images nor an .npz file")
    if src.count < 2:
        raise UsageError(f"--fake: {path} holds {src.count} image; evaluation needs at least 2")
    return src


class RealSource:
    """The dataset's images (a seeded random subset when `count` < the dataset), shard by shard,
    box-filtered to `size`. Global index i is image i of the shards in manifest order."""

    def __init__(self, ds, count: int | None, seed: int, size: int):
        self.ds, self.size, self.channels = ds, size, ds.channels
        n = ds.count
        if not fits_size(ds.size, size):
            raise UsageError(f"--data: the dataset is {ds.size} px and the images to score are {size} px; "
                             "the dataset side must be that size times a power of two")
        if count is None or count >= n:
            self.indices = np.arange(n)
        else:
            self.indices = np.sort(np.random.default_rng([seed, 7]).choice(n, count, replace=False))
        self.count = len(self.indices)
        self.native = ds.size
        self.offsets = np.cumsum([0] + [s["count"] for s in ds.manifest["shards"]])

    def batches(self, batch: int) -> Iterator[np.ndarray]:
        rest = None
        for s in range(len(self.offsets) - 1):
            lo, hi = self.offsets[s], self.offsets[s + 1]
            want = self.indices[(self.indices >= lo) & (self.indices < hi)] - lo
            if not len(want):
                continue
            arr = self.ds.load_shard(s)[want]
            if rest is not None:
                arr = np.concatenate([rest, arr])
            full = len(arr) - len(arr) % batch
            for i in range(0, full, batch):
                yield self._fit(arr[i:i + batch])
            rest = arr[full:]
        if rest is not None and len(rest):
            yield self._fit(rest)

    def _fit(self, images: np.ndarray) -> np.ndarray:
        if images.shape[1] == self.size:
            return images
        return np.clip(np.rint(downscale_area(images, self.size)), 0, 255).astype(np.uint8)

    def fetch(self, positions: np.ndarray) -> np.ndarray:
        """Images at positions (into this source's order) -> (len, size, size, C) uint8."""
        glob = self.indices[np.asarray(positions, int)]
        out = np.empty((len(glob), self.size, self.size, self.channels), np.uint8)
        shard_of = np.searchsorted(self.offsets, glob, side="right") - 1
        for s in np.unique(shard_of):
            arr = self.ds.load_shard(int(s))
            sel = np.nonzero(shard_of == s)[0]
            out[sel] = self._fit(arr[glob[sel] - self.offsets[s]])
        return out


"""Where prep's inputs come from: a folder scanned recursively, or a built-in dataset."""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import os
from typing import Iterator, NamedTuple

import numpy as np

from gantool.sizes import IMAGE_EXTENSIONS
from gantool.prep.imageio import DecodeError, open_regular


class Scan(NamedTuple):
    images: list[str]  # candidate image files, sorted (the output order)
    ignored_paths: list[str]  # other extensions and symlinked folders, sorted (in the manifest)
    errors: list[tuple[str, str]]  # (path, why) for folders that could not be listed

    @property
    def ignored(self) -> int:
        return len(self.ignored_paths)


def scan_folder(root: str) -> Scan:
    """All files under `root` with an image extension (any case), sorted by path.

    Symlinked folders are not followed (no loops) but listed as ignored; symlinked files are
    read like files."""
    images: list[str] = []
    ignored: list[str] = []
    errors: list[tuple[str, str]] = []

    def onerror(e: OSError) -> None:
        errors.append((getattr(e, "filename", "") or root, e.strerror or str(e)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        dirnames.sort()
        for name in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            ignored.append(os.path.join(dirpath, name))
        for name in filenames:
            path = os.path.join(dirpath, name)
            if name.lower().endswith(IMAGE_EXTENSIONS):
                images.append(path)
            else:
                ignored.append(path)
    images.sort()
    ignored.sort()
    return Scan(images, ignored, errors)


def file_sha256(path: str) -> str | None:
    """Content hash for byte-identical duplicate detection; None if unreadable or not a
    regular file (a named pipe or /dev/zero behind an image name must not be read)."""
    try:
        with open_regular(path) as f:
            h = hashlib.sha256()
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
            return h.hexdigest()
    except (DecodeError, OSError):
        return None


@functools.lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 1,797 8x8 handwritten digits as uint8 (N, 8, 8) with ink bright
    on black (0..16 scaled to 0..255), and their labels (read-only arrays, read once).

    Read from the CSV that scikit-learn ships (what `load_digits` reads) without importing
    scikit-learn, whose import (scipy.stats and friends) took 1.8-3 s of each 3.5 s digits prep
    here; `load_digits` is the fallback should the file move."""
    values = _digits_csv()
    if values is None:
        from sklearn.datasets import load_digits

        d = load_digits()
        images, target = d.images, d.target
    else:
        images, target = values[:, :-1].reshape(-1, 8, 8), values[:, -1]
    imgs = np.clip(np.round(images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    labels = target.astype(np.int64)
    imgs.flags.writeable = labels.flags.writeable = False
    return imgs, labels


def _digits_csv() -> np.ndarray | None:
    """The rows of scikit-learn's datasets/data/digits.csv.gz (64 pixels 0..16, then the label),
    found without importing scikit-learn; None when the package or the file is not there."""
    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "datasets", "data", "digits.csv.gz")
        if os.path.isfile(path):
            with gzip.open(path, "rt") as f:
                return np.loadtxt(f, delimiter=",")
    return None


def iter_digit_chunks(batch: int) -> Iterator[list[tuple[str, np.ndarray, int]]]:
    imgs, labels = digits()
    for start in range(0, len(imgs), batch):
        yield [
            (f"builtin:digits#{i}", imgs[i], int(labels[i]))
            for i in range(start, min(start + batch, len(imgs)))
        ]

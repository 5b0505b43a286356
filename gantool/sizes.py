"""Rules about image files and sizes that prep, train and eval share (one place each)."""

from __future__ import annotations

# the image files prep scans for and eval --fake reads (any case)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def box_filter_factor(data_size: int, size: int) -> int | None:
    """How many times a dataset of side `data_size` is box-filtered down to a model of side
    `size`: data_size = size x 2^k gives 2^k (1 when equal); any other pair gives None."""
    if size <= 0 or data_size < size or data_size % size:
        return None
    ratio = data_size // size
    return ratio if ratio & (ratio - 1) == 0 else None


def fits_size(data_size: int, size: int) -> bool:
    """Can a model (or an evaluation) at `size` px use a dataset of side `data_size`?"""
    return box_filter_factor(data_size, size) is not None

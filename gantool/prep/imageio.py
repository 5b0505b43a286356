"""Decode any photo we accept into uint8 RGB, and resize/crop with cv2.

Decoding uses Pillow (EXIF orientation, CMYK, palette, 16-bit, alpha, decompression-bomb
guard); cv2 does the pixel work (resize, border padding, rotation). Both are imported inside
functions so importing this module stays cheap.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from typing import BinaryIO

import numpy as np

MAX_PIXELS = 100_000_000  # ~10000 x 10000; larger headers are refused as decompression bombs
BACKGROUND = (255, 255, 255)  # transparent pixels are composited onto white


class DecodeError(Exception):
    """A file that cannot become an image; `reason` is a stable key used in counts."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        hi = 1.0 if arr.size and np.nanmax(arr) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(arr) * (255.0 / hi), 0, 255).round().astype(np.uint8)
    # integer wider than 8 bits: 16-bit data unless every value already fits in 8 bits
    hi = 255 if arr.size and int(arr.max()) <= 255 else 65535
    return np.clip(np.round(arr.astype(np.float64) * (255.0 / hi)), 0, 255).astype(np.uint8)


def _pil_to_rgb(img) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        gray = _to_uint8(np.asarray(img))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        img = Image.alpha_composite(bg, rgba)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def open_regular(path: str) -> BinaryIO:
    """Open a regular file for reading, or raise DecodeError ("unreadable" / "not_a_file").

    Opened non-blocking and checked with fstat on the open descriptor: a named pipe with an
    image name would otherwise block forever, and /dev/zero would never end."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise DecodeError("unreadable", e.strerror or str(e)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):  # what open() says of a folder
            raise DecodeError("unreadable", os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise DecodeError("not_a_file", kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


GREY_MODES = ("L", "1", "I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def decode_file(path: str, keep_grey: bool = False) -> np.ndarray:
    """Read an image file into an (H, W, 3) uint8 RGB array, upright per its EXIF tag; with
    `keep_grey` a single-channel file stays (H, W, 1) (eval --fake keeps grey images grey).
    prep and eval --fake share this one decoder and its guards.

    The file is decoded from disk as Pillow reads it (only the header before the size check),
    never slurped whole. Raises DecodeError with reason one of: empty, unreadable, not_a_file,
    not_an_image, too_large, corrupt."""
    with open_regular(path) as f:
        try:
            size = os.fstat(f.fileno()).st_size
        except OSError as e:
            raise DecodeError("unreadable", e.strerror or str(e)) from None
        if size == 0:
            raise DecodeError("empty", "zero-byte file")
        return _decode(f, keep_grey)


def decode_bytes(data: bytes) -> np.ndarray:
    """decode_file for bytes in memory."""
    import io

    if not data:
        raise DecodeError("empty", "zero bytes")
    return _decode(io.BytesIO(data))


def _decode(fp, keep_grey: bool = False) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Corrupt EXIF data" and the like: library code never prints
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(fp)
        except UnidentifiedImageError:
            raise DecodeError("not_an_image", "not a recognised image format") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise DecodeError("too_large", str(e).split(".")[0]) from None
        except Exception as e:  # noqa: BLE001  (malformed headers raise many types)
            raise DecodeError("corrupt", f"{type(e).__name__}: {e}") from None
        try:
            w, h = img.size
            if w < 1 or h < 1:
                raise DecodeError("corrupt", f"bad size {w}x{h}")
            if w * h > MAX_PIXELS:
                raise DecodeError("too_large", f"{w}x{h} pixels exceeds {MAX_PIXELS}")
            img.load()
            try:
                img = ImageOps.exif_transpose(img)
            except Exception:  # noqa: BLE001  (a broken EXIF block must not lose the photo)
                pass
            if keep_grey and img.mode in GREY_MODES:
                arr = _to_uint8(np.asarray(img))[:, :, None]
            else:
                arr = _pil_to_rgb(img)
        except DecodeError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise DecodeError("too_large", str(e).split(".")[0]) from None
        except Exception as e:  # noqa: BLE001  (truncated streams: OSError, SyntaxError, ...)
            raise DecodeError("corrupt", f"{type(e).__name__}: {e}") from None
    if arr.ndim != 3 or arr.shape[2] not in ((1, 3) if keep_grey else (3,)) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise DecodeError("corrupt", f"unexpected decoded shape {arr.shape}")
    return arr


_BORDERS = {"reflect": "BORDER_REFLECT_101", "edge": "BORDER_REPLICATE", "black": "BORDER_CONSTANT"}


def border_flag(pad: str) -> int:
    import cv2

    return getattr(cv2, _BORDERS[pad])


def resize_square(img: np.ndarray, size: int) -> tuple[np.ndarray, bool]:
    """Resize a square crop to size x size: INTER_AREA when shrinking, Lanczos when enlarging.

    Returns (image, enlarged)."""
    import cv2

    side = img.shape[0]
    if side == size and img.shape[1] == size:
        return img, False
    enlarged = side < size
    interp = cv2.INTER_LANCZOS4 if enlarged else cv2.INTER_AREA
    out = cv2.resize(img, (size, size), interpolation=interp)
    if out.ndim == 2 and img.ndim == 3:
        out = out[:, :, None]
    return out, enlarged


def shrink(img: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    if factor >= 1.0:
        return img
    h, w = img.shape[:2]
    return cv2.resize(img, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """RGB (H, W, 3) -> (H, W, channels) uint8."""
    if channels == 3:
        return img
    import cv2

    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[:, :, None]

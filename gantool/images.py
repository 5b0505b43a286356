"""The one place model-space images meet pixels (habit 9): uint8 NHWC on disk, float32 [-1, 1]
NHWC in models. Also image grids and atomic PNG writes."""

from __future__ import annotations

import math
import os

import numpy as np

from gantool.atomic import write_bytes


def to_float(x):
    """uint8 [0, 255] -> float32 [-1, 1]; works on numpy arrays and TF tensors."""
    if isinstance(x, np.ndarray):
        return x.astype(np.float32) / 127.5 - 1.0
    import tensorflow as tf  # noqa: PLC0415

    return tf.cast(x, tf.float32) / 127.5 - 1.0


def batch_rows(x):
    """A batch tensor's first dimension: a Python int when the traced shape knows it (a training
    step's batch always does), so that random draws of that many rows put no shape ops into the
    graph (gantool.train.draws); else a scalar tensor."""
    if x.shape[0] is not None:
        return x.shape[0]
    import tensorflow as tf  # noqa: PLC0415

    return tf.shape(x)[0]


def to_uint8(x) -> np.ndarray:
    """float [-1, 1] (numpy or tensor) -> uint8 [0, 255], rounded, clipped (NaN -> 128)."""
    arr = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0)
    return np.clip(np.rint((arr + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, cols: int | None = None, pad: int = 2, fill: int = 0) -> np.ndarray:
    """(N, H, W, C) uint8 -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, C) image, row-major."""
    n, h, w, c = images.shape
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), fill, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[y:y + h, x:x + w] = images[i]
    return out


def encode_png(img: np.ndarray) -> bytes:
    """(H, W, 1|3) or (H, W) uint8 RGB/grey -> PNG bytes."""
    import cv2  # noqa: PLC0415

    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    elif img.ndim == 3 and img.shape[2] == 3:
        img = img[:, :, ::-1]  # cv2 wants BGR
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def write_png(path: str | os.PathLike, img: np.ndarray, scale: int = 1) -> None:
    """Write a PNG atomically; `scale` > 1 enlarges it (nearest neighbour) for small images."""
    if scale > 1:
        img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    write_bytes(path, encode_png(img))


def downscale_area(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, C) float or uint8 -> (N, size, size, C) float32 by box averaging (H % size == 0)
    or cv2's area filter otherwise. Works 64 images at a time, so a float copy of a large batch
    (256 images at 256 px would be 200 MB) never exists."""
    n, h, w, c = images.shape
    if n > 64:
        return np.concatenate([downscale_area(images[i:i + 64], size) for i in range(0, n, 64)])
    x = images.astype(np.float32)
    if h % size == 0 and w % size == 0:
        f = h // size
        return x.reshape(n, size, f, size, f, c).mean(axis=(2, 4))
    import cv2  # noqa: PLC0415

    out = np.empty((n, size, size, c), dtype=np.float32)
    for i in range(n):
        r = cv2.resize(x[i], (size, size), interpolation=cv2.INTER_AREA)
        out[i] = r.reshape(size, size, c)
    return out


def shrink_pixels(x, side: int) -> np.ndarray:
    """float [-1, 1] images (N, H, W, C), a tensor -> (N, side, side, C) float32 pixel values: what
    downscale_area makes of to_uint8(x). When side divides H the rounding (half to even, as
    np.rint), clipping, NaN -> 128 and box filter run where x is, and only the small images reach
    the host (a megapixel batch is hundreds of MB of floats); otherwise it is the host path."""
    if int(x.shape[1]) % side or int(x.shape[2]) % side:
        return downscale_area(to_uint8(x), side)
    import tensorflow as tf  # noqa: PLC0415

    x = tf.cast(x, tf.float32)
    u = tf.clip_by_value(tf.round((tf.where(tf.math.is_nan(x), tf.zeros_like(x), x) + 1.0) * 127.5), 0.0, 255.0)
    f = int(x.shape[1]) // side
    return (tf.nn.avg_pool2d(u, f, f, "VALID") if f > 1 else u).numpy()


def generation_batch(resolution: int, cap: int = 64) -> int:
    """Images to generate at a time at this resolution: `cap` up to 256 px, then fewer, so one
    inference batch of a megapixel generator stays a few hundred MB (4 at 1024 px)."""
    return int(max(1, min(cap, 2 ** 22 // (resolution * resolution))))

"""Turn a decoded photo and a square window into a size x size crop (cv2 pixel work)."""

from __future__ import annotations

import numpy as np

from gantool.prep import geometry as g
from gantool.prep.imageio import border_flag, resize_square


def crop_square(img: np.ndarray, sq: g.Square, angle: float, size: int, pad: str):
    """Crop the square `sq` (rotated by `angle` degrees about its centre) from `img`, padding
    with `pad` where it leaves the photo, and resize to size x size.

    Returns (crop uint8 (size, size, 3), enlarged: bool, matrix: 2x3 source -> crop pixels)."""
    import cv2

    h, w = img.shape[:2]
    win = g.window(sq)
    side = win.side
    border = border_flag(pad)
    if abs(angle) < 1e-6:
        cp = g.clamp_pad(win, w, h)
        if cp.sx1 <= cp.sx0 or cp.sy1 <= cp.sy0:
            raise ValueError("crop window lies entirely outside the image")
        part = img[cp.sy0:cp.sy1, cp.sx0:cp.sx1]
        if cp.padded:
            part = cv2.copyMakeBorder(part, cp.top, cp.bottom, cp.left, cp.right, border, value=(0, 0, 0))
        matrix = g.window_matrix(win, size)
    else:
        centred = g.Square((win.x0 + win.x1) / 2.0, (win.y0 + win.y1) / 2.0, float(side))
        m = g.crop_matrix(centred, angle)
        part = cv2.warpAffine(img, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=(0, 0, 0))
        matrix = g.crop_matrix(centred, angle, out_size=size)
    out, enlarged = resize_square(np.ascontiguousarray(part), size)
    return out, enlarged, matrix

"""Pure crop geometry: no image libraries, only numbers (and numpy for 2x3 matrices).

Coordinates are pixels with x to the right and y down; a box is (x, y, w, h) with (x, y)
its top-left corner. A square window is (cx, cy, side) in float and becomes an integer
(x0, y0, x1, y1) half-open rectangle via `window`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


class Square(NamedTuple):
    cx: float
    cy: float
    side: float


class Window(NamedTuple):
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def side(self) -> int:
        return self.x1 - self.x0


class ClampPad(NamedTuple):
    """The part of a window inside the image (src, half-open) and the padding around it."""

    sx0: int
    sy0: int
    sx1: int
    sy1: int
    top: int
    bottom: int
    left: int
    right: int

    @property
    def padded(self) -> bool:
        return bool(self.top or self.bottom or self.left or self.right)


def face_square(box, margin: float) -> Square:
    """Square centred on a face box, its side the box's longer side enlarged by `margin`
    of that side on each edge: side = max(w, h) * (1 + 2 * margin)."""
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise ValueError(f"box must have positive size, got {box}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    return Square(x + w / 2.0, y + h / 2.0, max(w, h) * (1.0 + 2.0 * margin))


def center_square(width: int, height: int) -> Square:
    """Largest centred square inside a width x height image."""
    return Square(width / 2.0, height / 2.0, float(min(width, height)))


def enclosing_square(width: int, height: int) -> Square:
    """Smallest centred square containing the whole image (the rest is padding)."""
    return Square(width / 2.0, height / 2.0, float(max(width, height)))


def window(sq: Square) -> Window:
    """Integer half-open window of side round(side) (at least 1) centred on (cx, cy)."""
    side = max(1, int(round(sq.side)))
    x0 = int(math.floor(sq.cx - side / 2.0 + 0.5))
    y0 = int(math.floor(sq.cy - side / 2.0 + 0.5))
    return Window(x0, y0, x0 + side, y0 + side)


def _clamp_axis(a0: int, a1: int, n: int) -> tuple[int, int, int, int]:
    """(src start, src end, pad before, pad after) of the span [a0, a1) on an axis of length n."""
    s0 = min(max(a0, 0), n)
    s1 = max(min(a1, n), 0)
    if s1 <= s0:  # no overlap: an empty source, the whole span is padding
        return s0, s0, a1 - a0, 0
    return s0, s1, s0 - a0, a1 - s1


def clamp_pad(win: Window, width: int, height: int) -> ClampPad:
    """Split a window into the in-image source rectangle and the padding needed on each side.

    A window entirely outside the image has an empty source (sx0 == sx1 or sy0 == sy1)."""
    sx0, sx1, left, right = _clamp_axis(win.x0, win.x1, width)
    sy0, sy1, top, bottom = _clamp_axis(win.y0, win.y1, height)
    return ClampPad(sx0, sy0, sx1, sy1, top, bottom, left, right)


def eye_angle(left_eye, right_eye) -> float:
    """Angle in degrees of the line from the left eye to the right eye (image coordinates,
    y down: positive when the right eye is lower). Rotating by -angle levels the eyes."""
    dx = float(right_eye[0]) - float(left_eye[0])
    dy = float(right_eye[1]) - float(left_eye[1])
    return math.degrees(math.atan2(dy, dx))


def crop_matrix(sq: Square, angle_deg: float, out_size: float | None = None) -> np.ndarray:
    """2x3 affine matrix mapping source pixel coordinates into the crop.

    The crop is the square `sq` rotated by `angle_deg` about its centre (so a line at that
    angle becomes horizontal), scaled to out_size x out_size (default: its own side)."""
    side = float(sq.side)
    out = side if out_size is None else float(out_size)
    s = out / side
    a = math.radians(-angle_deg)
    c, n = math.cos(a) * s, math.sin(a) * s
    # p_out = s * R(-angle) (p - centre) + (out / 2, out / 2)
    tx = out / 2.0 - (c * sq.cx - n * sq.cy)
    ty = out / 2.0 - (n * sq.cx + c * sq.cy)
    return np.array([[c, -n, tx], [n, c, ty]], dtype=np.float64)


def window_matrix(win: Window, out_size: float) -> np.ndarray:
    """2x3 matrix of an axis-aligned window crop scaled to out_size."""
    s = float(out_size) / win.side
    return np.array([[s, 0.0, -win.x0 * s], [0.0, s, -win.y0 * s]], dtype=np.float64)


def apply_matrix(m: np.ndarray, points) -> np.ndarray:
    """Apply a 2x3 affine matrix to an (N, 2) array of points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]


def shrink_scale(width: int, height: int, max_side: int) -> float:
    """Factor (<= 1) that brings the longer side down to max_side."""
    long_side = max(width, height)
    return 1.0 if long_side <= max_side else max_side / float(long_side)


def scale_box(box, factor: float):
    """Scale an (x, y, w, h) box by a factor (e.g. 1 / shrink_scale to map back)."""
    return tuple(float(v) * factor for v in box)


def box_area(box) -> float:
    return max(0.0, float(box[2])) * max(0.0, float(box[3]))


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax1, ay1 = a[0] + a[2], a[1] + a[3]
    bx1, by1 = b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = box_area(a) + box_area(b) - inter
    # the intersection comes from corner differences, the areas from w * h: far from the origin
    # they round differently (a box equal to itself gave 1 + 1.5e-12), so clamp to a fraction
    return min(1.0, inter / union) if union > 0 else 0.0

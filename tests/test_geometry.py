"""Pure crop geometry, checked with numbers worked out by hand."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gantool.prep import geometry as g


def test_face_square_centre_and_margin():
    # box 100x80 at (10, 20): centre (60, 60); longer side 100; margin 0.25 each edge -> 150
    sq = g.face_square((10, 20, 100, 80), 0.25)
    assert sq == (60.0, 60.0, 150.0)
    assert g.face_square((10, 20, 100, 80), 0.0).side == 100.0
    # a tall box uses its height
    assert g.face_square((0, 0, 40, 90), 0.5).side == 180.0


@pytest.mark.parametrize("bad", [(0, 0, 0, 10), (0, 0, 10, -1)])
def test_face_square_rejects_empty_boxes(bad):
    with pytest.raises(ValueError):
        g.face_square(bad, 0.2)


def test_center_and_enclosing_squares():
    assert g.center_square(640, 480) == (320.0, 240.0, 480.0)
    assert g.enclosing_square(640, 480) == (320.0, 240.0, 640.0)


def test_window_rounds_to_integer_square():
    assert g.window(g.Square(60, 60, 150)) == (-15, -15, 135, 135)
    w = g.window(g.Square(10.4, 10.6, 5.2))
    assert w.side == 5 and (w.x1 - w.x0) == (w.y1 - w.y0) == 5
    assert g.window(g.Square(0, 0, 0.2)).side == 1


def test_clamp_pad_inside_and_outside():
    # fully inside: no padding
    assert g.clamp_pad(g.Window(10, 20, 60, 70), 100, 100) == (10, 20, 60, 70, 0, 0, 0, 0)
    # leaves the top-left corner by 15 px on each side
    cp = g.clamp_pad(g.Window(-15, -15, 135, 135), 200, 100)
    assert cp == (0, 0, 135, 100, 15, 35, 15, 0)
    assert cp.padded
    # larger than the image on every side
    cp = g.clamp_pad(g.Window(-5, -7, 25, 23), 20, 10)
    assert cp == (0, 0, 20, 10, 7, 13, 5, 5)
    # entirely outside: empty source
    cp = g.clamp_pad(g.Window(300, 300, 310, 310), 100, 100)
    assert cp.sx1 == cp.sx0 and cp.sy1 == cp.sy0


@settings(max_examples=300, deadline=None)
@given(
    x0=st.integers(-500, 500), y0=st.integers(-500, 500), side=st.integers(1, 600),
    w=st.integers(1, 400), h=st.integers(1, 400),
)
def test_clamp_pad_always_reassembles_the_window(x0, y0, side, w, h):
    win = g.Window(x0, y0, x0 + side, y0 + side)
    cp = g.clamp_pad(win, w, h)
    assert 0 <= cp.sx0 <= cp.sx1 <= w and 0 <= cp.sy0 <= cp.sy1 <= h
    assert min(cp.top, cp.bottom, cp.left, cp.right) >= 0
    assert cp.left + (cp.sx1 - cp.sx0) + cp.right == side
    assert cp.top + (cp.sy1 - cp.sy0) + cp.bottom == side


def test_eye_angle():
    assert g.eye_angle((0, 0), (10, 0)) == 0.0
    assert g.eye_angle((0, 0), (10, 10)) == pytest.approx(45.0)
    assert g.eye_angle((0, 0), (10, -10)) == pytest.approx(-45.0)


def test_crop_matrix_levels_eyes_and_centres_the_square():
    le, re = (100.0, 100.0), (140.0, 120.0)  # tilted by atan(20/40) = 26.57 deg
    angle = g.eye_angle(le, re)
    assert angle == pytest.approx(math.degrees(math.atan2(20, 40)))
    sq = g.Square(120.0, 110.0, 80.0)
    m = g.crop_matrix(sq, angle, out_size=64)
    pts = g.apply_matrix(m, [le, re, (sq.cx, sq.cy)])
    assert pts[0, 1] == pytest.approx(pts[1, 1])  # eyes level
    assert pts[2] == pytest.approx([32.0, 32.0])  # centre -> centre of the 64 px crop
    # distances scale by out/side
    assert np.hypot(*(pts[1] - pts[0])) == pytest.approx(math.hypot(40, 20) * 64 / 80)


def test_window_matrix_maps_corners():
    m = g.window_matrix(g.Window(-15, -15, 135, 135), 300)
    pts = g.apply_matrix(m, [(-15, -15), (135, 135), (60, 60)])
    assert pts.tolist() == [[0.0, 0.0], [300.0, 300.0], [150.0, 150.0]]


def test_shrink_and_scale_box():
    assert g.shrink_scale(1280, 960, 640) == 0.5
    assert g.shrink_scale(300, 200, 640) == 1.0
    assert g.scale_box((10, 20, 30, 40), 2.0) == (20.0, 40.0, 60.0, 80.0)


def test_iou():
    assert g.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert g.iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert g.iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0

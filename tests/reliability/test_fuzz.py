"""Property-based tests (hypothesis) of prep's pure crop geometry and of its decode path.

Small by default (the folder runs in seconds); GANTOOL_FUZZ_SCALE=100 fuzzes 100x longer."""

import io
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from gantool.prep import geometry as g
from gantool.prep.crop import crop_square
from gantool.prep.imageio import DecodeError, decode_bytes

SCALE = max(1, int(os.environ.get("GANTOOL_FUZZ_SCALE", "1")))
FAST = settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DECODE = settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])

coord = st.floats(-5000, 5000, allow_nan=False, allow_infinity=False)
side = st.floats(0, 5000, allow_nan=False, allow_infinity=False)
dim = st.integers(1, 4000)
angle = st.floats(-360, 360, allow_nan=False, allow_infinity=False)
box = st.tuples(coord, coord, st.floats(0.5, 3000), st.floats(0.5, 3000))


# ---------------------------------------------------------------- geometry


@FAST
@given(coord, coord, side)
def test_window_has_the_requested_side_and_centre(cx, cy, s):
    w = g.window(g.Square(cx, cy, s))
    want = max(1, int(round(s)))
    assert w.side == want and w.y1 - w.y0 == want
    assert abs((w.x0 + w.x1) / 2 - cx) <= 0.5 + 1e-9 and abs((w.y0 + w.y1) / 2 - cy) <= 0.5 + 1e-9


@FAST
@given(st.integers(-300, 300), st.integers(-300, 300), st.integers(1, 300), st.integers(1, 200), st.integers(1, 200))
def test_clamp_pad_rebuilds_exactly_the_window(x0, y0, s, w, h):
    """Source rectangle + padding == the window, pixel for pixel (padding marked -1)."""
    win = g.Window(x0, y0, x0 + s, y0 + s)
    cp = g.clamp_pad(win, w, h)
    assert 0 <= cp.sx0 <= cp.sx1 <= w and 0 <= cp.sy0 <= cp.sy1 <= h
    assert min(cp.top, cp.bottom, cp.left, cp.right) >= 0
    assert (cp.sx1 - cp.sx0) + cp.left + cp.right == s
    assert (cp.sy1 - cp.sy0) + cp.top + cp.bottom == s
    if cp.sx1 > cp.sx0 and cp.sy1 > cp.sy0:
        img = np.arange(w * h, dtype=np.int64).reshape(h, w)
        got = np.pad(img[cp.sy0:cp.sy1, cp.sx0:cp.sx1], ((cp.top, cp.bottom), (cp.left, cp.right)), constant_values=-1)
        ys, xs = np.mgrid[y0:y0 + s, x0:x0 + s]
        inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        want = np.where(inside, ys * w + xs, -1)
        assert np.array_equal(got, want)


@FAST
@given(dim, dim)
def test_center_square_never_pads_and_enclosing_square_covers_the_image(w, h):
    cp = g.clamp_pad(g.window(g.center_square(w, h)), w, h)
    assert not cp.padded and cp.sx1 - cp.sx0 == min(w, h) == cp.sy1 - cp.sy0
    cp = g.clamp_pad(g.window(g.enclosing_square(w, h)), w, h)
    assert (cp.sx0, cp.sy0, cp.sx1, cp.sy1) == (0, 0, w, h)


@FAST
@given(box, box)
@example((0, 0, 1, 1), (0, 0, 1, 1))
@example((0, 0, 1, 1), (1, 0, 1, 1))
@example((0.0, 4096.0, 1.0, 0.587), (0.0, 4096.0, 1.0, 0.587))  # found by hypothesis: rounding gave 1 + 1.5e-12
def test_iou_is_a_symmetric_fraction(a, b):
    v = g.iou(a, b)
    assert 0.0 <= v <= 1.0 + 1e-12
    assert v == pytest.approx(g.iou(b, a), abs=1e-12)
    assert g.iou(a, a) == pytest.approx(1.0)
    far = (a[0] + a[2] + 1.0, a[1], 1.0, 1.0)
    assert g.iou(a, far) == 0.0


@FAST
@given(coord, coord, st.floats(1, 4000), angle, st.floats(1, 2048))
def test_crop_matrix_maps_the_square_corners_to_the_output_corners(cx, cy, s, a, out):
    m = g.crop_matrix(g.Square(cx, cy, s), a, out_size=out)
    t = math.radians(a)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    half = s / 2.0
    local = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    corners = local @ rot.T + [cx, cy]  # the square turned by `a` about its centre, in the photo
    want = np.array([[0, 0], [out, 0], [out, out], [0, out]], dtype=float)
    tol = 1e-7 * (abs(cx) + abs(cy) + s + out) * max(1.0, out / s)
    assert np.allclose(g.apply_matrix(m, corners), want, atol=tol)
    assert np.allclose(g.apply_matrix(m, [(cx, cy)]), [[out / 2, out / 2]], atol=tol)


@FAST
@given(st.tuples(coord, coord), st.tuples(coord, coord), st.floats(1, 500))
def test_rotating_by_the_eye_angle_levels_the_eyes(le, re, s):
    assume(math.hypot(re[0] - le[0], re[1] - le[1]) > 1e-3)
    a = g.eye_angle(le, re)
    m = g.crop_matrix(g.Square((le[0] + re[0]) / 2, (le[1] + re[1]) / 2, s), a)
    (lx, ly), (rx, ry) = g.apply_matrix(m, [le, re])
    assert abs(ly - ry) <= 1e-6 * (1 + abs(lx - rx)) and rx > lx  # level, left eye on the left


@FAST
@given(st.integers(-500, 500), st.integers(-500, 500), st.integers(1, 2000), st.floats(1, 2048))
def test_window_matrix_maps_the_window_onto_the_output(x0, y0, s, out):
    m = g.window_matrix(g.Window(x0, y0, x0 + s, y0 + s), out)
    assert np.allclose(g.apply_matrix(m, [(x0, y0), (x0 + s, y0 + s)]), [[0, 0], [out, out]], atol=1e-6 * (out + abs(x0) + abs(y0)))


@FAST
@given(box, st.floats(1e-3, 1e3))
def test_scale_box_round_trips(b, f):
    back = g.scale_box(g.scale_box(b, f), 1.0 / f)
    assert np.allclose(back, b, rtol=1e-9, atol=1e-9)


@FAST
@given(dim, dim, st.integers(1, 4000))
def test_shrink_scale_brings_the_long_side_down_to_the_limit(w, h, limit):
    f = g.shrink_scale(w, h, limit)
    assert 0 < f <= 1.0
    assert max(w, h) * f <= limit * (1 + 1e-12)
    if max(w, h) <= limit:
        assert f == 1.0


@FAST
@given(box, st.floats(0, 4))
def test_face_square_window_contains_the_face(b, margin):
    sq = g.face_square(b, margin)
    assert sq.side == pytest.approx(max(b[2], b[3]) * (1 + 2 * margin))
    w = g.window(sq)
    x, y, bw, bh = b
    assert w.x0 <= x + 1 and w.y0 <= y + 1 and w.x1 >= x + bw - 1 and w.y1 >= y + bh - 1


@settings(max_examples=120 * SCALE, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), coord.map(lambda v: v / 50), coord.map(lambda v: v / 50),
       st.floats(0, 150), st.sampled_from([0.0, 0.0, 17.0, -90.0]), st.integers(8, 48), st.sampled_from(["reflect", "edge", "black"]))
def test_crop_square_always_gives_size_x_size_or_says_the_window_is_outside(w, h, cx, cy, s, a, size, pad):
    img = np.random.default_rng(w * 100 + h).integers(0, 256, (h, w, 3), dtype=np.uint8)
    try:
        out, enlarged, m = crop_square(img, g.Square(cx, cy, s), a, size, pad)
    except ValueError as e:
        assert a == 0.0 and "outside" in str(e)
        cp = g.clamp_pad(g.window(g.Square(cx, cy, s)), w, h)
        assert cp.sx1 <= cp.sx0 or cp.sy1 <= cp.sy0
        return
    assert out.shape == (size, size, 3) and out.dtype == np.uint8
    assert enlarged == (g.window(g.Square(cx, cy, s)).side < size)
    assert m.shape == (2, 3) and np.all(np.isfinite(m))


# ---------------------------------------------------------------- decode path


def _check_decoded(data: bytes) -> None:
    """The whole contract of decode_bytes: a uint8 (H, W, 3) array, or DecodeError."""
    try:
        arr = decode_bytes(data)
    except DecodeError as e:
        assert e.reason in {"empty", "not_an_image", "too_large", "corrupt"}, e.reason
        return
    assert isinstance(arr, np.ndarray) and arr.dtype == np.uint8
    assert arr.ndim == 3 and arr.shape[2] in (1, 3) and arr.shape[0] >= 1 and arr.shape[1] >= 1
    assert arr.flags.c_contiguous


def _encode(img, fmt, **kw) -> bytes:
    bio = io.BytesIO()
    img.save(bio, format=fmt, **kw)
    return bio.getvalue()


def _seeds() -> dict:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    gray16 = Image.fromarray(rng.integers(0, 65535, (9, 7), dtype=np.uint16))
    rgba = Image.fromarray(rng.integers(0, 256, (8, 8, 4), dtype=np.uint8), "RGBA")
    frames = [Image.fromarray(np.full((6, 6, 3), c, np.uint8)) for c in (0, 128, 255)]
    return {
        "png": _encode(rgb, "PNG"),
        "png16": _encode(gray16, "PNG"),
        "png_rgba": _encode(rgba, "PNG"),
        "jpeg": _encode(rgb, "JPEG", quality=90),
        "jpeg_cmyk": _encode(rgb.convert("CMYK"), "JPEG", quality=90),
        "jpeg_progressive": _encode(rgb, "JPEG", quality=80, progressive=True),
        "webp": _encode(rgb, "WEBP", quality=80),
        "gif_anim": _encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "bmp": _encode(rgb, "BMP"),
        "tiff": _encode(rgb, "TIFF"),
        "tiff_lzw": _encode(rgb, "TIFF", compression="tiff_lzw"),
    }


SEEDS = _seeds()


@DECODE
@given(st.binary(max_size=4096))
def test_decode_bytes_on_arbitrary_bytes(data):
    _check_decoded(data)


@DECODE
@given(st.sampled_from(sorted(SEEDS)), st.binary(min_size=0, max_size=2048))
def test_decode_bytes_on_a_valid_header_then_noise(kind, tail):
    """Past the format sniffing: each format's first bytes, then anything."""
    seed = SEEDS[kind]
    cut = min(len(seed), 64)
    _check_decoded(seed[:cut] + tail)


@st.composite
def mutated(draw):
    kind = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "dup"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[i:]
        else:
            j = draw(st.integers(0, len(data) - 1))
            data[i:i] = data[j:j + draw(st.integers(1, 64))]
    return bytes(data)


@DECODE
@given(mutated())
def test_decode_bytes_on_mutated_valid_images(data):
    _check_decoded(data)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_the_unmutated_seeds_decode(kind):
    arr = decode_bytes(SEEDS[kind])
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3


@settings(max_examples=60 * SCALE, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.sampled_from(["RGB", "L"]), st.integers(0, 2**32 - 1))
def test_lossless_formats_round_trip_exactly(w, h, mode, seed):
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    px = rng.integers(0, 256, shape, dtype=np.uint8)
    for fmt in ("PNG", "BMP", "TIFF"):
        arr = decode_bytes(_encode(Image.fromarray(px, mode), fmt))
        want = px if mode == "RGB" else np.repeat(px[:, :, None], 3, axis=2)
        assert np.array_equal(arr, want), fmt

"""Decoding every kind of input prep promises to handle, on real files written here."""

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from gantool.prep.imageio import DecodeError, decode_file, resize_square, to_channels


def _ramp(h=40, w=60):
    y, x = np.mgrid[0:h, 0:w]
    return np.dstack([x * 4, y * 6, (x + y) * 2]).astype(np.uint8)


def test_rgb_jpeg_and_png(tmp_path):
    img = _ramp()
    Image.fromarray(img).save(tmp_path / "a.png")
    out = decode_file(str(tmp_path / "a.png"))
    assert out.dtype == np.uint8 and out.shape == (40, 60, 3)
    assert np.array_equal(out, img)
    Image.fromarray(img).save(tmp_path / "a.jpg", quality=95)
    assert np.abs(decode_file(str(tmp_path / "a.jpg")).astype(int) - img).mean() < 4


def test_grayscale_becomes_three_equal_channels(tmp_path):
    g = (np.arange(40 * 60) % 256).reshape(40, 60).astype(np.uint8)
    Image.fromarray(g, "L").save(tmp_path / "g.png")
    out = decode_file(str(tmp_path / "g.png"))
    assert out.shape == (40, 60, 3)
    assert np.array_equal(out[:, :, 0], g) and np.array_equal(out[:, :, 2], g)


def test_rgba_composited_onto_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :5, 3] = 255  # left half opaque red-ish, right half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    out = decode_file(str(tmp_path / "t.png"))
    assert out[0, 0].tolist() == [200, 0, 0]
    assert out[0, 9].tolist() == [255, 255, 255]


def test_palette_with_transparency(tmp_path):
    p = Image.new("P", (8, 8), 0)
    p.putpalette([10, 20, 30] + [250, 0, 0] * 255)
    p.info["transparency"] = 0
    p.putpixel((0, 0), 1)
    p.save(tmp_path / "p.png", transparency=0)
    out = decode_file(str(tmp_path / "p.png"))
    assert out[0, 0].tolist() == [250, 0, 0]
    assert out[4, 4].tolist() == [255, 255, 255]  # palette index 0 is transparent


def test_16bit_gray_and_rgb_scaled_not_clipped(tmp_path):
    g16 = np.array([[0, 32896, 65535]], np.uint16)  # 32896 = 128 * 257
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    assert decode_file(str(tmp_path / "g16.png"))[0, :, 0].tolist() == [0, 128, 255]
    rgb16 = np.array([[[65535, 0, 32896]]], np.uint16)  # written as BGR
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16)
    assert decode_file(str(tmp_path / "c16.png"))[0, 0].tolist() == [128, 0, 255]


def test_cmyk_jpeg(tmp_path):
    img = _ramp()
    Image.fromarray(img).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    out = decode_file(str(tmp_path / "c.jpg"))
    assert out.shape == (40, 60, 3)
    assert np.abs(out.astype(int) - img).mean() < 12


def test_exif_orientation_applied(tmp_path):
    img = _ramp(40, 60)  # upright is 40 tall, 60 wide
    stored = Image.fromarray(img).transpose(Image.Transpose.ROTATE_90)  # stored 60 tall, 40 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    stored.save(tmp_path / "e.jpg", quality=95, exif=exif.tobytes())
    out = decode_file(str(tmp_path / "e.jpg"))
    assert out.shape == (40, 60, 3)
    assert np.abs(out.astype(int) - img).mean() < 6


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("empty.png", b"", "empty"),
        ("text.jpg", b"hello, I am text\n" * 20, "not_an_image"),
        ("random.png", bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)), "not_an_image"),
    ],
)
def test_bad_files_raise_with_reason(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DecodeError) as e:
        decode_file(str(tmp_path / name))
    assert e.value.reason == reason


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_are_corrupt(tmp_path, fmt):
    bio = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(bio, format=fmt)
    data = bio.getvalue()
    (tmp_path / "t").write_bytes(data[: len(data) // 2])
    with pytest.raises(DecodeError) as e:
        decode_file(str(tmp_path / "t"))
    assert e.value.reason in ("corrupt", "not_an_image")


def _png_with_header_size(w, h):
    bio = io.BytesIO()
    Image.new("RGB", (1, 1)).save(bio, format="PNG")
    data = bytearray(bio.getvalue())
    # IHDR chunk: length(4) 'IHDR'(4) width(4) height(4) ... crc(4), starting at byte 8
    data[16:24] = struct.pack(">II", w, h)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    data[29:33] = struct.pack(">I", crc)
    return bytes(data)


def test_decompression_bomb_header_refused(tmp_path):
    (tmp_path / "bomb.png").write_bytes(_png_with_header_size(20000, 20000))
    with pytest.raises(DecodeError) as e:
        decode_file(str(tmp_path / "bomb.png"))
    assert e.value.reason == "too_large"


def test_unreadable_file(tmp_path):
    import os

    p = tmp_path / "locked.jpg"
    Image.fromarray(_ramp()).save(p)
    os.chmod(p, 0)
    try:
        if os.access(p, os.R_OK):  # root ignores permissions: use a directory with an image name instead
            p = tmp_path / "folder.jpg"
            p.mkdir()
        with pytest.raises(DecodeError) as e:
            decode_file(str(p))
        assert e.value.reason == "unreadable"
    finally:
        os.chmod(tmp_path / "locked.jpg", 0o644)


def test_resize_square_area_when_shrinking_lanczos_when_enlarging():
    img = np.zeros((100, 100, 3), np.uint8)
    img[::2] = 255  # alternate rows: INTER_AREA averages them to ~128
    small, enlarged = resize_square(img, 50)
    assert small.shape == (50, 50, 3) and not enlarged
    assert abs(int(small[10, 10, 0]) - 128) <= 1
    big, enlarged = resize_square(img[:10, :10], 40)
    assert big.shape == (40, 40, 3) and enlarged
    same, enlarged = resize_square(img, 100)
    assert same is img and not enlarged


def test_to_channels_gray():
    img = np.full((4, 4, 3), (255, 0, 0), np.uint8)
    g = to_channels(img, 1)
    assert g.shape == (4, 4, 1) and g.dtype == np.uint8
    assert abs(int(g[0, 0, 0]) - 76) <= 1  # ITU-R 601 luma of pure red
    assert to_channels(img, 3) is img

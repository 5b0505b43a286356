"""A hostile photo folder for prep, written from scratch into a temp folder by the tests.

Every entry records what prep must do with it: pack it (optionally with a pixel check on the
packed crop), skip it with one of a few reasons, or ignore it (not an image extension). Names
are the paths prep reports, relative to the folder (os.fsdecode form for non-UTF-8 names).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

BAD_REASONS = {"corrupt", "not_an_image", "empty", "too_large", "unreadable", "not_a_file"}


@dataclass
class Expect:
    fate: str  # "packed" | "skipped" | "ignored"
    reasons: frozenset = frozenset()  # acceptable skip reasons
    check: Callable[[np.ndarray], None] | None = None  # on the packed (size, size, 3) crop
    note: str = ""


def encode(img: np.ndarray, fmt: str, **kw) -> bytes:
    bio = io.BytesIO()
    Image.fromarray(img).save(bio, format=fmt, **kw)
    return bio.getvalue()


def png_with_header_size(w: int, h: int) -> bytes:
    """A valid 1x1 PNG whose IHDR claims w x h (CRC fixed, so only the size is a lie)."""
    data = bytearray(encode(np.zeros((1, 1, 3), np.uint8), "PNG"))
    data[16:24] = struct.pack(">II", w, h)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def jpeg_with_header_size(img: np.ndarray, w: int, h: int) -> bytes:
    """A JPEG whose SOF0 frame header claims w x h."""
    data = bytearray(encode(img, "JPEG", quality=90))
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", h, w)
    return bytes(data)


def flat(rgb, h=48, w=64) -> np.ndarray:
    return np.full((h, w, 3), rgb, np.uint8)


def near(rgb, tol=12):
    def check(crop: np.ndarray) -> None:
        mean = crop.reshape(-1, crop.shape[-1]).mean(axis=0)
        assert np.all(np.abs(mean - np.asarray(rgb)) <= tol), (mean.tolist(), rgb)

    return check


def _write(root: Path, rel: str | bytes, data: bytes) -> Path:
    p = Path(os.fsdecode(os.path.join(os.fsencode(root), os.fsencode(rel))))
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def photos():
    from skimage import data

    return {"astronaut": data.astronaut(), "chelsea": data.chelsea(), "coffee": data.coffee(),
            "camera": data.camera()}


def build(root: Path) -> dict[str, Expect]:
    """Write the corpus under `root`; returns {reported relative path: Expect}."""
    root.mkdir(parents=True, exist_ok=True)
    ph = photos()
    exp: dict[str, Expect] = {}
    packed, skipped, ignored = "packed", "skipped", "ignored"

    def add(rel, data: bytes, e: Expect) -> Path:
        p = _write(root, rel, data)
        exp[os.fsdecode(rel)] = e
        return p

    # ---- good photos (real pictures from scikit-image)
    add("good/astronaut.jpg", encode(ph["astronaut"], "JPEG", quality=92), Expect(packed))
    add("good/chelsea.webp", encode(ph["chelsea"], "WEBP", quality=90), Expect(packed))
    add("good/coffee.PNG", encode(ph["coffee"], "PNG"), Expect(packed))
    add("good/camera_gray.tif", encode(ph["camera"], "TIFF"), Expect(packed))
    add("good/astronaut_as.bmp", encode(ph["astronaut"][::2, ::2], "BMP"), Expect(packed))

    # ---- formats that must be converted, with the colour they must come out as
    g16 = np.full((40, 60), 40000, np.uint16)  # 40000 / 65535 * 255 = 155.6
    ok, buf = cv2.imencode(".png", g16)
    add("depth/gray16.png", buf.tobytes(), Expect(packed, check=near((156, 156, 156), 2)))
    rgb16 = np.zeros((40, 60, 3), np.uint16)
    rgb16[...] = (60000, 20000, 5000)  # RGB; cv2 writes BGR
    ok, buf = cv2.imencode(".png", rgb16[:, :, ::-1])
    add("depth/rgb16.png", buf.tobytes(), Expect(packed, check=near((233, 78, 19), 2)))
    ok, buf = cv2.imencode(".tif", rgb16[:, :, ::-1])
    add("depth/rgb16.tif", buf.tobytes(),
        Expect(packed, check=near((233, 78, 19), 2)))
    f32 = np.full((30, 30), 0.5, np.float32)
    add("depth/float32.tif", encode(f32, "TIFF"), Expect(packed, check=near((128, 128, 128), 2)))
    cmyk = Image.fromarray(flat((200, 40, 60))).convert("CMYK")
    bio = io.BytesIO()
    cmyk.save(bio, format="JPEG", quality=95)
    add("color/cmyk.jpg", bio.getvalue(), Expect(packed, check=near((200, 40, 60), 14)))
    bio = io.BytesIO()
    cmyk.save(bio, format="TIFF")
    add("color/cmyk.tif", bio.getvalue(), Expect(packed, check=near((200, 40, 60), 14)))
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[...] = (0, 0, 255, 0)  # fully transparent blue: composited onto white
    add("color/transparent.png", encode(rgba, "PNG"), Expect(packed, check=near((255, 255, 255), 1)))
    bio = io.BytesIO()
    Image.fromarray(flat((10, 200, 10))).convert("LAB").save(bio, format="TIFF")
    add("color/lab.tif", bio.getvalue(), Expect(packed, check=near((10, 200, 10), 14)))
    bio = io.BytesIO()
    Image.fromarray(flat((0, 0, 0))).convert("1").save(bio, format="PNG")
    add("color/bilevel.png", bio.getvalue(), Expect(packed, check=near((0, 0, 0), 1)))

    # ---- animation: the first frame (red) is the photo
    frames = [Image.fromarray(flat(c)) for c in ((220, 20, 20), (20, 220, 20), (20, 20, 220))]
    for rel, fmt in (("anim/anim_gif_named.png", "GIF"), ("anim/anim.webp", "WEBP"), ("anim/apng.png", "PNG")):
        bio = io.BytesIO()
        frames[0].save(bio, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                       **({"lossless": True} if fmt == "WEBP" else {}))
        add(rel, bio.getvalue(), Expect(packed, check=near((220, 20, 20), 14)))
    bio = io.BytesIO()
    frames[0].save(bio, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    add("anim/anim.gif", bio.getvalue(), Expect(ignored, note=".gif is not a prep extension"))
    bio = io.BytesIO()
    Image.fromarray(flat((20, 20, 220))).save(bio, format="TIFF", save_all=True,
                                              append_images=[Image.fromarray(flat((220, 20, 20)))])
    add("anim/multipage.tif", bio.getvalue(), Expect(packed, check=near((20, 20, 220), 2)))

    # ---- geometry extremes
    add("size/one_by_one.png", encode(flat((90, 100, 110), 1, 1), "PNG"), Expect(packed, check=near((90, 100, 110), 1)))
    add("size/strip_1x3000.png", encode(flat((5, 6, 7), 1, 3000), "PNG"), Expect(packed, check=near((5, 6, 7), 1)))
    add("size/jpeg_header_1x1.jpg", jpeg_with_header_size(ph["astronaut"][:64, :64], 1, 1),
        Expect(packed, note="a 1x1 frame header over 64x64 data: decoded as the 1x1 it claims"))
    add("size/bomb_20000.png", png_with_header_size(20000, 20000), Expect(skipped, frozenset({"too_large"})))
    add("size/bomb_12000.png", png_with_header_size(12000, 12000), Expect(skipped, frozenset({"too_large"})))
    add("size/bomb_20000.jpg", jpeg_with_header_size(ph["astronaut"][:64, :64], 20000, 20000),
        Expect(skipped, frozenset({"too_large"})))
    add("size/zero_width.png", png_with_header_size(0, 10), Expect(skipped, frozenset({"corrupt", "not_an_image"})))

    # ---- broken bytes
    rng = np.random.default_rng(8)
    for rel, fmt in (("broken/trunc.jpg", "JPEG"), ("broken/trunc.png", "PNG"), ("broken/trunc.webp", "WEBP")):
        b = encode(ph["chelsea"], fmt)
        add(rel, b[: len(b) // 2], Expect(skipped, frozenset({"corrupt", "not_an_image"})))
    b = encode(ph["chelsea"], "JPEG")
    add("broken/header_only.jpg", b[:600], Expect(skipped, frozenset({"corrupt", "not_an_image"})))
    add("broken/zero.jpg", b"", Expect(skipped, frozenset({"empty"})))
    add("broken/zero.webp", b"", Expect(skipped, frozenset({"empty"})))
    for ext in ("jpg", "png", "webp", "tif", "bmp"):
        add(f"broken/random.{ext}", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
            Expect(skipped, frozenset({"not_an_image"})))
    add("broken/magic_then_noise.png", b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, 2000, dtype=np.uint8).tobytes(),
        Expect(skipped, frozenset({"corrupt", "not_an_image"})))
    tif = bytearray(encode(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), "TIFF"))
    tif[8] = 0xFF  # the first IFD's entry count: Pillow warns "Corrupt EXIF data" and still decodes
    add("broken/warns.tif", bytes(tif), Expect(packed, note="Pillow's warning must not reach stderr"))
    add("broken/text.jpg", b"I am a shopping list, not a photo.\n" * 40, Expect(skipped, frozenset({"not_an_image"})))
    add("broken/html.png", b"<html><body>404 Not Found</body></html>\n", Expect(skipped, frozenset({"not_an_image"})))

    # ---- wrong or odd extensions
    add("ext/png_named.jpg", encode(flat((30, 60, 90)), "PNG"), Expect(packed, check=near((30, 60, 90), 1)))
    add("ext/jpeg_named.webp", encode(flat((90, 60, 30)), "JPEG", quality=95), Expect(packed, check=near((90, 60, 30), 4)))
    add("ext/UPPER.JPEG", encode(flat((1, 2, 3)), "PNG"), Expect(packed, check=near((1, 2, 3), 1)))
    add("ext/photo.jpg.txt", encode(ph["astronaut"], "JPEG"), Expect(ignored))
    add("ext/no_extension", encode(ph["astronaut"], "JPEG"), Expect(ignored))
    add("ext/notes.md", b"# notes\n", Expect(ignored))

    # ---- non-UTF-8 file names (Latin-1 bytes, invalid UTF-8)
    add(b"names/caf\xe9.jpg", encode(flat((120, 80, 40)), "JPEG", quality=95), Expect(packed, check=near((120, 80, 40), 4)))
    add(b"names/\xff\xfe\xfd.png", rng.integers(0, 256, 500, dtype=np.uint8).tobytes(),
        Expect(skipped, frozenset({"not_an_image"})))
    add(b"names/\xe9t\xe9/inside.png", encode(flat((7, 77, 177)), "PNG"), Expect(packed, check=near((7, 77, 177), 1)))
    add("names/日本語 写真.png", encode(flat((9, 99, 199)), "PNG"), Expect(packed, check=near((9, 99, 199), 1)))
    add("names/new\nline.png", encode(flat((11, 22, 33)), "PNG"), Expect(packed, check=near((11, 22, 33), 1)))

    # ---- duplicates and links
    add("links/dup_of_astronaut.jpg", (root / "good/astronaut.jpg").read_bytes(), Expect(skipped, frozenset({"duplicate"})))
    links = root / "links"
    os.symlink("loop_self.jpg", links / "loop_self.jpg")
    exp["links/loop_self.jpg"] = Expect(skipped, frozenset({"unreadable"}))
    os.symlink("loop_b.png", links / "loop_a.png")
    os.symlink("loop_a.png", links / "loop_b.png")
    exp["links/loop_a.png"] = Expect(skipped, frozenset({"unreadable"}))
    exp["links/loop_b.png"] = Expect(skipped, frozenset({"unreadable"}))
    os.symlink("does_not_exist.jpg", links / "dangling.jpg")
    exp["links/dangling.jpg"] = Expect(skipped, frozenset({"unreadable"}))
    os.symlink("..", links / "up")  # a folder loop: not followed, so nothing under it is scanned
    exp["links/up"] = Expect(ignored, note="symlinked folders are not followed")
    os.symlink("../good/coffee.PNG", links / "alias_of_coffee.png")
    exp["links/alias_of_coffee.png"] = Expect(skipped, frozenset({"duplicate"}))
    os.symlink("/dev/zero", links / "dev_zero.jpg")  # endless bytes: must not be read to the end
    exp["links/dev_zero.jpg"] = Expect(skipped, frozenset({"not_a_file"}))
    os.mkfifo(links / "fifo.png")  # a named pipe with no writer: opening it would block forever
    exp["links/fifo.png"] = Expect(skipped, frozenset({"not_a_file"}))
    (root / "links" / "folder.jpg").mkdir()  # a folder with an image name: scanned as a folder

    # ---- permissions (root reads anything: the test checks which case it is in)
    locked = add("perm/locked.jpg", encode(flat((140, 150, 160)), "PNG"), Expect(packed))
    os.chmod(locked, 0)
    locked_dir = root / "perm" / "locked_dir"
    _write(root, "perm/locked_dir/hidden.png", encode(flat((160, 150, 140)), "PNG"))
    os.chmod(locked_dir, 0)
    readable = os.access(locked, os.R_OK)
    if readable:
        exp["perm/locked.jpg"] = Expect(packed, check=near((140, 150, 160), 1), note="readable: running as root")
        exp["perm/locked_dir/hidden.png"] = Expect(packed, check=near((160, 150, 140), 1), note="root")
    else:
        exp["perm/locked.jpg"] = Expect(skipped, frozenset({"unreadable"}))
        exp["perm/locked_dir"] = Expect(skipped, frozenset({"unreadable"}), note="a folder that cannot be listed")
    return exp


def unlock(root: Path) -> None:
    """Give back permissions so tmp_path can be cleaned up."""
    for rel in ("perm/locked.jpg", "perm/locked_dir"):
        p = root / rel
        if p.exists():
            os.chmod(p, 0o755)

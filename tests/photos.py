"""Real photo fixtures built from scikit-image's bundled pictures (no downloads).

skimage.data.astronaut() has one frontal face; we place it at known scales, rotations and
positions on larger canvases, so the expected face position in every photo is known
exactly from the affine transform that placed it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

# MTCNN's box and landmarks on the untouched 512x512 astronaut, measured once with mtcnn
# 1.0.0 (test_faces.py re-detects and checks them); expected positions in the fixtures are
# these points pushed through the transform that placed the astronaut.
ASTRONAUT_BOX = (181.6, 63.7, 83.0, 107.4)
ASTRONAUT_LANDMARKS = {
    "left_eye": (203.5, 100.1),
    "right_eye": (245.4, 102.2),
    "nose": (224.2, 126.4),
    "mouth_left": (201.8, 138.6),
    "mouth_right": (244.4, 140.4),
}


def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def background(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth, non-uniform colour field (not a flat colour that would make crops trivial)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 200, size=(6, 8, 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def place_matrix(scale: float, angle_deg: float, at: tuple[float, float], src_center=(256.0, 256.0)) -> np.ndarray:
    """2x3 matrix putting the source centre at `at`, scaled and rotated (counter-clockwise
    on screen for positive angles, like cv2.getRotationMatrix2D)."""
    a = math.radians(angle_deg)
    c, s = math.cos(a) * scale, math.sin(a) * scale
    cx, cy = src_center
    return np.array([[c, s, at[0] - (c * cx + s * cy)], [-s, c, at[1] - (-s * cx + c * cy)]])


def place(src: np.ndarray, canvas_hw, scale: float, angle: float, at, seed: int = 0):
    """Paste `src` (transformed) onto a background canvas; returns (image, matrix)."""
    h, w = canvas_hw
    m = place_matrix(scale, angle, at, (src.shape[1] / 2.0, src.shape[0] / 2.0))
    warped = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.warpAffine(np.full(src.shape[:2], 255, np.uint8), m, (w, h), flags=cv2.INTER_NEAREST)
    out = background(h, w, seed)
    out[mask > 0] = warped[mask > 0]
    return out, m


def transform(m: np.ndarray, pts) -> np.ndarray:
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]


def save(img: np.ndarray, path: Path, **kw) -> None:
    Image.fromarray(img).save(path, **kw)


def jpeg_bytes(img: np.ndarray, quality: int = 92) -> bytes:
    import io

    bio = io.BytesIO()
    Image.fromarray(img).save(bio, format="JPEG", quality=quality)
    return bio.getvalue()


def write_face_photo(path: Path, scale: float, angle: float, canvas_hw, at, seed: int = 0) -> np.ndarray:
    """Write one astronaut photo; returns the placement matrix (astronaut px -> photo px)."""
    img, m = place(astronaut(), canvas_hw, scale, angle, at, seed)
    save(img, path, quality=92) if path.suffix.lower() in (".jpg", ".jpeg") else save(img, path)
    return m


def build_photo_folder(root: Path) -> dict:
    """The mixed folder used by the prep tests. Returns {relative path: expectation}, where an
    expectation is {"matrix": 2x3} for a packed face photo or {"reason": key} for a skip."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sub").mkdir(exist_ok=True)
    exp: dict = {}
    a = astronaut()

    exp["a_plain.jpg"] = {"matrix": write_face_photo(root / "a_plain.jpg", 1.0, 0, (700, 900), (400, 330), 1)}
    exp["b_small.png"] = {"matrix": write_face_photo(root / "b_small.png", 0.5, 0, (480, 640), (300, 260), 2)}
    exp["c_rotated.jpg"] = {"matrix": write_face_photo(root / "c_rotated.jpg", 1.1, 25, (1000, 1000), (520, 480), 3)}
    # face close to the top-left corner: the square crop with margin leaves the photo (padding)
    exp["d_edge.jpg"] = {"matrix": write_face_photo(root / "d_edge.jpg", 1.0, 0, (600, 800), (60, 170), 4)}
    exp["k_upper.JPG"] = {"matrix": write_face_photo(root / "k_upper.JPG", 0.8, 0, (600, 800), (420, 300), 5)}
    exp["l_photo.webp"] = {"matrix": write_face_photo(root / "l_photo.webp", 0.9, 0, (600, 700), (330, 300), 6)}
    exp["m_photo.bmp"] = {"matrix": write_face_photo(root / "m_photo.bmp", 0.7, 0, (500, 600), (300, 250), 7)}
    exp["n_photo.tif"] = {"matrix": write_face_photo(root / "n_photo.tif", 0.6, 0, (500, 500), (250, 250), 8)}

    base, m = place(a, (640, 800), 0.9, 0, (390, 330), 9)
    Image.fromarray(base).convert("L").save(root / "e_gray.png")
    exp["e_gray.png"] = {"matrix": m}

    rgba = np.dstack([base, np.full(base.shape[:2], 255, np.uint8)])
    rgba[:, :60, 3] = 0  # a transparent strip: composited onto the background colour
    Image.fromarray(rgba, "RGBA").save(root / "f_rgba.png")
    exp["f_rgba.png"] = {"matrix": m}

    g16 = (cv2.cvtColor(base, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257)
    cv2.imwrite(str(root / "g_gray16.png"), g16)
    exp["g_gray16.png"] = {"matrix": m}
    rgb16 = base.astype(np.uint16) * 257
    cv2.imwrite(str(root / "g_rgb16.png"), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    exp["g_rgb16.png"] = {"matrix": m}

    Image.fromarray(base).convert("CMYK").save(root / "h_cmyk.jpg", quality=92)
    exp["h_cmyk.jpg"] = {"matrix": m}

    # stored rotated 90 degrees with EXIF orientation 6 ("rotate 90 CW to display")
    stored = Image.fromarray(base).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(root / "i_exif.jpg", quality=92, exif=exif.tobytes())
    exp["i_exif.jpg"] = {"matrix": m}

    Image.fromarray(base).convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(root / "j_palette.png")
    exp["j_palette.png"] = {"matrix": m}

    # two faces: --faces largest keeps the bigger one, --faces all keeps both
    two, m_big = place(a, (700, 1100), 0.9, 0, (330, 350), 10)
    m_small = place_matrix(0.5, 0, (830, 330))
    warped = cv2.warpAffine(a, m_small, (1100, 700))
    mask = cv2.warpAffine(np.full(a.shape[:2], 255, np.uint8), m_small, (1100, 700), flags=cv2.INTER_NEAREST)
    two[mask > 0] = warped[mask > 0]
    save(two, root / "o_two.jpg", quality=92)
    exp["o_two.jpg"] = {"matrix": m_big, "all": [m_big, m_small]}

    # skips
    (root / "sub" / "dup_of_a.jpg").write_bytes((root / "a_plain.jpg").read_bytes())
    exp["sub/dup_of_a.jpg"] = {"reason": "duplicate"}
    rng = np.random.default_rng(0)
    (root / "corrupt.jpg").write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    exp["corrupt.jpg"] = {"reason": "not_an_image"}
    jb = jpeg_bytes(base)
    (root / "truncated.jpg").write_bytes(jb[: len(jb) // 3])
    exp["truncated.jpg"] = {"reason": "corrupt"}
    (root / "empty.png").write_bytes(b"")
    exp["empty.png"] = {"reason": "empty"}
    (root / "notes.jpg").write_text("these are not the pixels you are looking for\n")
    exp["notes.jpg"] = {"reason": "not_an_image"}
    from skimage import data

    save(data.chelsea(), root / "sub" / "cat.jpg", quality=92)
    exp["sub/cat.jpg"] = {"reason": "no_face"}
    (root / "readme.txt").write_text("not an image extension: ignored, not counted\n")
    return exp


def build_many(root: Path, n: int, canvas=(480, 640)) -> None:
    """n distinct face photos (different placement, so different bytes)."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        scale = 0.55 + 0.02 * (i % 10)
        write_face_photo(root / f"p{i:04d}.jpg", scale, 0, canvas, (300 + (i % 7) * 8, 240), seed=i)


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))

"""Per-chunk prep work: decode, detect, crop, resize. Runs in the main process (workers=1)
or in spawned worker processes; results come back in submission order."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gantool.config import PrepConfig, default_workers
from gantool.prep import geometry as g
from gantool.prep.crop import crop_square
from gantool.prep.faces import FaceDetector, select_faces
from gantool.prep.imageio import DecodeError, decode_file, resize_square, to_channels
from gantool.tfquiet import import_tf


class Outcome(NamedTuple):
    source: str
    crops: list  # list of (uint8 (size, size, C), record dict)
    reason: str | None  # skip reason when no crop came out
    detail: str = ""


_STATE: dict = {}


def init_worker(cfg: PrepConfig, intra_threads: int | None = None) -> None:
    """Set up per-process state (the MTCNN detector for face crops)."""
    _STATE.clear()
    _STATE["cfg"] = cfg
    if cfg.crop == "face":
        import_tf(intra_op_threads=intra_threads)
        _STATE["detector"] = FaceDetector(cfg.detect_size, cfg.min_face, cfg.min_confidence)


def _round(v, nd: int = 2):
    return [round(float(x), nd) for x in v]


def _face_crops(img: np.ndarray, faces, cfg: PrepConfig) -> list:
    out = []
    for face in select_faces(faces, cfg.min_confidence, cfg.min_face, cfg.faces):
        sq = g.face_square(face.box, cfg.margin)
        angle = g.eye_angle(face.landmarks["left_eye"], face.landmarks["right_eye"]) if cfg.align else 0.0
        crop, enlarged, m = crop_square(img, sq, angle, cfg.size, cfg.pad)
        names = list(face.landmarks)
        pts_out = g.apply_matrix(m, [face.landmarks[n] for n in names])
        rec = {
            "face": {
                "box": _round(face.box),
                "confidence": round(face.confidence, 5),
                "landmarks": {n: _round(face.landmarks[n]) for n in names},
            },
            "crop": {"center": _round(sq[:2]), "side": round(sq.side, 2), "angle": round(angle, 3)},
            "landmarks_out": {n: _round(p) for n, p in zip(names, pts_out)},
            "enlarged": enlarged,
            "source_size": [int(img.shape[1]), int(img.shape[0])],
        }
        out.append((to_channels(crop, cfg.channels), rec))
    return out


def _plain_crop(img: np.ndarray, cfg: PrepConfig):
    h, w = img.shape[:2]
    sq = g.center_square(w, h) if cfg.crop == "center" else g.enclosing_square(w, h)
    crop, enlarged, _ = crop_square(img, sq, 0.0, cfg.size, cfg.pad)
    rec = {
        "crop": {"center": _round(sq[:2]), "side": round(sq.side, 2), "angle": 0.0},
        "enlarged": enlarged,
        "source_size": [int(w), int(h)],
    }
    return [(to_channels(crop, cfg.channels), rec)]


def _detect(decoded: list, results: dict) -> list:
    """Faces for each decoded photo. If the batched call fails, retry one photo at a time
    and record the photos the detector itself fails on (`detect_failed`)."""
    detector = _STATE["detector"]
    try:
        return detector.detect([im for _, im in decoded])
    except Exception:  # noqa: BLE001
        faces = []
        for p, im in decoded:
            try:
                faces.append(detector.detect([im])[0])
            except Exception as e:  # noqa: BLE001
                results[p] = Outcome(p, [], "detect_failed", f"{type(e).__name__}: {e}")
        return faces


def process_paths(paths: list[str]) -> list[Outcome]:
    cfg: PrepConfig = _STATE["cfg"]
    decoded: list[tuple[str, np.ndarray]] = []
    results: dict[str, Outcome] = {}
    for p in paths:
        try:
            decoded.append((p, decode_file(p)))
        except DecodeError as e:
            results[p] = Outcome(p, [], e.reason, e.detail)
        except MemoryError:
            results[p] = Outcome(p, [], "too_large", "out of memory while decoding")
    if cfg.crop == "face" and decoded:
        all_faces = _detect(decoded, results)
        decoded = [d for d in decoded if d[0] not in results]
    else:
        all_faces = [None] * len(decoded)
    for (p, img), faces in zip(decoded, all_faces):
        try:
            if faces is None:
                crops = _plain_crop(img, cfg)
            else:
                crops = _face_crops(img, faces, cfg)
        except Exception as e:  # noqa: BLE001  (one bad photo must not stop the run)
            results[p] = Outcome(p, [], "crop_failed", f"{type(e).__name__}: {e}")
            continue
        if crops:
            results[p] = Outcome(p, crops, None)
        elif faces:
            best = max(faces, key=lambda f: f.confidence)
            results[p] = Outcome(
                p, [], "no_face",
                f"{len(faces)} face(s) below --min-confidence/--min-face (best confidence {best.confidence:.3f}, "
                f"size {min(best.box[2], best.box[3]):.0f} px)",
            )
        else:
            results[p] = Outcome(p, [], "no_face", "no face detected")
    return [results[p] for p in paths]


def process_digits(items: list) -> list[Outcome]:
    cfg: PrepConfig = _STATE["cfg"]
    out = []
    for source, img8, label in items:
        rgb = np.repeat(img8[:, :, None], 3, axis=2)
        crop, enlarged = resize_square(rgb, cfg.size)
        rec = {"label": label, "enlarged": enlarged, "source_size": [8, 8]}
        out.append(Outcome(source, [(to_channels(crop, cfg.channels), rec)], None))
    return out


def run_chunk(kind: str, items: list) -> list[Outcome]:
    return process_digits(items) if kind == "digits" else process_paths(items)


def worker_threads(workers: int) -> int:
    """TensorFlow threads per worker so that all workers together use the usable cores."""
    return max(1, default_workers() // max(1, workers))

"""Face detection with MTCNN: the only module that imports mtcnn.

Detection runs on copies shrunk to a `detect_size` longest side (padded to a detect_size
square when several share a call), batched as a Python list (mtcnn 1.0.0 rejects a 4-D
array); boxes and landmarks are mapped back to the original pixels and the crop is taken
from the full-resolution photo. Boxes are not clipped to the photo: a face cut by the edge keeps its
full box, and the crop is padded.

mtcnn 1.0.0 quirk (DESIGN.md): a `min_face_size` above ~20 silently finds nothing on a
512-px image because its scale pyramid starts below PNet's 12-px window. We therefore always
ask mtcnn for faces down to <= 20 px on the shrunk copy and apply the user's --min-face to
the boxes in original pixels ourselves.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gantool.prep import geometry as g
from gantool.prep.imageio import shrink
from gantool.tfquiet import import_mtcnn, silenced_stderr

LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
MTCNN_MIN_FACE_CAP = 20  # above this mtcnn 1.0.0 may return nothing (see module doc)
MTCNN_MIN_FACE_FLOOR = 12  # PNet's window; smaller means upsampling the whole pyramid


class Face(NamedTuple):
    box: tuple  # (x, y, w, h) in original pixels
    confidence: float
    landmarks: dict  # name -> (x, y) in original pixels


def mtcnn_min_face(min_face_px: float, scale: float) -> int:
    """The min_face_size to pass to mtcnn for a copy shrunk by `scale`."""
    return int(min(MTCNN_MIN_FACE_CAP, max(MTCNN_MIN_FACE_FLOOR, round(min_face_px * scale))))


def select_faces(faces: list[Face], min_confidence: float, min_face: float, mode: str) -> list[Face]:
    """Keep faces with confidence >= min_confidence whose shorter box side is >= min_face px;
    mode 'largest' keeps only the largest of those, 'all' keeps all (largest first)."""
    kept = [f for f in faces if f.confidence >= min_confidence and min(f.box[2], f.box[3]) >= min_face]
    kept.sort(key=lambda f: (-g.box_area(f.box), -f.confidence))
    return kept[:1] if mode == "largest" else kept


def parse_rows(rows: np.ndarray, n_images: int, factors: list[float]) -> list[list[Face]]:
    """mtcnn numpy output rows [img_id, x1, y1, x2, y2, conf, 5 landmark x's, 5 landmark y's]
    (the x's and y's are not interleaved) -> Faces per image, mapped back to original pixels
    by dividing by each image's shrink factor."""
    out: list[list[Face]] = [[] for _ in range(n_images)]
    for r in np.asarray(rows, dtype=np.float64).reshape(-1, 16):
        i = int(r[0])
        inv = 1.0 / factors[i]
        x1, y1, x2, y2 = (float(v) * inv for v in r[1:5])
        lm = {name: (float(r[6 + k]) * inv, float(r[11 + k]) * inv) for k, name in enumerate(LANDMARKS)}
        out[i].append(Face((x1, y1, x2 - x1, y2 - y1), float(r[5]), lm))
    for faces in out:
        faces.sort(key=lambda f: -f.confidence)
    return out


class FaceDetector:
    def __init__(self, detect_size: int = 640, min_face: float = 40, min_confidence: float = 0.95):
        self.detect_size = detect_size
        self.min_face = min_face
        self.onet_threshold = min(0.8, float(min_confidence))
        MTCNN = import_mtcnn()
        with silenced_stderr():
            self._mtcnn = MTCNN(device="CPU:0")

    def _on_canvas(self, img: np.ndarray) -> np.ndarray:
        """Pad a detection copy (bottom/right, black) to detect_size x detect_size.

        mtcnn pads a list batch to its largest image (centred) and builds one scale pyramid
        for that size; one fixed square keeps each photo's pixels at the same place whatever
        its batch-mates. mtcnn's batched stages still move boxes by a few pixels compared
        with one photo per call, so output is deterministic for a given --batch (and any
        --workers), not across batch sizes. Coordinates are unchanged (top-left anchored)."""
        h, w = img.shape[:2]
        s = self.detect_size
        if h == s and w == s:
            return img
        out = np.zeros((s, s, 3), dtype=np.uint8)
        out[:h, :w] = img
        return out

    def detect(self, images: list[np.ndarray]) -> list[list[Face]]:
        """All faces mtcnn finds in each RGB uint8 image (original pixel coordinates)."""
        if not images:
            return []
        factors = [g.shrink_scale(im.shape[1], im.shape[0], self.detect_size) for im in images]
        small = [shrink(im, f) for im, f in zip(images, factors)]
        canvas = [self._on_canvas(im) for im in small] if len(small) > 1 else small
        min_size = min(mtcnn_min_face(self.min_face, f) for f in factors)
        with silenced_stderr():
            rows = self._mtcnn.detect_faces(
                canvas,
                box_format="xyxy",
                output_type="numpy",
                fit_to_image=False,
                min_face_size=min_size,
                threshold_onet=self.onet_threshold,
            )
        return parse_rows(rows, len(images), factors)

"""A judge of generated digits that gantool does not train against: the Frechet distance in the
feature space of a small classifier trained on scikit-learn's 1,797 digits ("cfd"), its
real-vs-real floor, and which of the ten classes the classifier finds among the samples.

- Classifier: scikit-learn's MLPClassifier, two ReLU layers (128, 64), on the 8x8 digits scaled
  to [0, 1], seeded. Features: the 64 activations of its last hidden layer.
- Images of any size are box-filtered to 8x8 (grey: RGB is averaged), the same path the real
  digits take when they are given as a prepped dataset, so real and generated images meet the
  classifier the same way.
- cfd = mean over `splits` seeded draws of FD(n generated, n real); the floor is the mean of
  FD(n real, n other real) over the same draws (disjoint halves), so both carry the same
  small-sample bias. ratio = cfd / floor: 1.0 is as close as two samples of the data itself.
- classes: the predicted-class shares of the generated images; a class is "found" when at least
  `min_share` (2 %) of the samples are predicted as it.

Run on a folder of samples or an .npz (`gantool sample RUN --npz F`):
    .venv/bin/python bench/digit_judge.py samples.npz [--real DATASET_DIR]
bench/quality_bench.py uses it for docs/bench/quality.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIDE = 8
HIDDEN = (128, 64)
MIN_SHARE = 0.02


def to_8x8(images: np.ndarray) -> np.ndarray:
    """(N, H, W[, C]) uint8 -> (N, 64) float64 in [0, 1], box-filtered to 8x8, grey."""
    from gantool.images import downscale_area

    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    small = downscale_area(x, SIDE).mean(axis=-1) / 255.0
    return small.reshape(len(small), -1).astype(np.float64)


def real_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as gantool's builtin:digits source gives them: uint8 (N, 8, 8), labels."""
    from gantool.prep.sources import digits

    return digits()


@lru_cache(maxsize=4)
def classifier(seed: int = 0):
    from sklearn.neural_network import MLPClassifier

    imgs, labels = real_digits()
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, alpha=1e-3, max_iter=2000, random_state=seed)
    return clf.fit(to_8x8(imgs), labels)


def features(clf, x8: np.ndarray) -> np.ndarray:
    """The last hidden layer's ReLU activations for (N, 64) inputs."""
    h = x8
    for w, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        h = np.maximum(h @ w + b, 0.0)
    return h


def _fd(a: np.ndarray, b: np.ndarray) -> float:
    from gantool.eval.fid import frechet, stats

    return frechet(*stats(a), *stats(b))


def judge(generated: np.ndarray, real: np.ndarray | None = None, n: int = 800, splits: int = 5,
          seed: int = 0, min_share: float = MIN_SHARE) -> dict:
    """Score generated uint8 images against real ones (default: scikit-learn's digits)."""
    clf = classifier(seed)
    real8 = to_8x8(real if real is not None else real_digits()[0])
    gen8 = to_8x8(generated)
    n = min(n, len(real8) // 2, len(gen8))
    if n < 100:
        raise ValueError(f"need at least 100 generated and 200 real images, got {len(gen8)} and {len(real8)}")
    fr, fg = features(clf, real8), features(clf, gen8)
    rng = np.random.default_rng(seed)
    cfd, floor = [], []
    for _ in range(splits):
        perm = rng.permutation(len(fr))
        a, b = fr[perm[:n]], fr[perm[n:2 * n]]
        g = fg[rng.choice(len(fg), n, replace=False)]
        cfd.append(_fd(g, b))
        floor.append(_fd(a, b))
    proba = clf.predict_proba(gen8)
    shares = np.bincount(proba.argmax(axis=1), minlength=10) / len(gen8)
    cfd_m, floor_m = float(np.mean(cfd)), float(np.mean(floor))
    return {"cfd": cfd_m, "floor": floor_m, "ratio": cfd_m / floor_m, "cfd_splits": cfd, "floor_splits": floor,
            "n": n, "splits": splits, "class_shares": shares.round(4).tolist(),
            "classes_found": int((shares >= min_share).sum()), "min_share": min_share,
            "mean_confidence": float(proba.max(axis=1).mean())}


def load_images(path: Path) -> np.ndarray:
    """A prepped dataset folder, or an .npz as `gantool eval --fake` reads it (its 'images' array or
    its only one, uint8 NHWC; gantool.eval.sources.ArraySource)."""
    path = Path(path)
    if path.is_dir():
        from gantool.data.shards import open_dataset

        return open_dataset(path).load_all()
    from gantool.eval.sources import ArraySource

    return ArraySource(path, None).images


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("samples", type=Path, help="an .npz of uint8 images or a prepped dataset folder")
    ap.add_argument("--real", type=Path, help="a prepped dataset to compare with (default: scikit-learn's digits)")
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--splits", type=int, default=5)
    a = ap.parse_args()
    real = load_images(a.real) if a.real else None
    res = judge(load_images(a.samples), real, n=a.n, splits=a.splits)
    print(json.dumps({k: v for k, v in res.items() if not k.endswith("_splits")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the rest of `gantool eval` on this machine: Inception feature extraction (images/s)
and the metric maths at the default sizes (FID, KID, precision/recall on 10,000 x 2048
features; nearest neighbours of 1,000 generated among 50,000 real).

Run: .venv/bin/python bench/eval_bench.py [--images 200] [--side 64]
The network is Keras InceptionV3 with random weights: the same architecture and cost as the
real weights (no download needed); the 2015 graph has the same architecture.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


TIMES: dict = {}


def timed(label: str, fn) -> None:
    t0 = time.perf_counter()
    fn()
    TIMES[label] = time.perf_counter() - t0
    print(f"{label}: {TIMES[label]:.2f} s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--side", type=int, default=64)
    ap.add_argument("--features", type=int, default=10000)
    a = ap.parse_args()
    from gantool.eval import features, fid, kid, nn, prdc

    net = features.random_inception()
    x = np.random.default_rng(0).integers(0, 256, (a.images, a.side, a.side, 3), dtype=np.uint8)
    net.extract(x[:50])  # trace
    t0 = time.perf_counter()
    net.extract(x, batch=50)
    s = time.perf_counter() - t0
    print(f"Inception features, {a.images} images of {a.side} px (resized to 299), batch 50: {s:.2f} s "
          f"({a.images / s:.1f} img/s)", flush=True)

    r = np.random.default_rng(1)
    real = r.normal(size=(a.features, 2048)).astype(np.float32)
    fake = (r.normal(size=(a.features, 2048)) * 1.1).astype(np.float32)
    timed(f"FID, {a.features} vs {a.features} x 2048", lambda: fid.fid(real, fake))
    timed("KID, 100 subsets of 1000", lambda: kid.kid(real, fake, 100, 1000))
    timed(f"precision/recall k=3, {a.features} vs {a.features}", lambda: prdc.precision_recall(real, fake, 3))
    big = r.normal(size=(50000, 2048)).astype(np.float32)
    timed("nearest neighbours, 1000 generated among 50000 real (k=5) + 1000 real among the rest",
          lambda: (nn.nearest(fake[:1000], big, 5), nn.real_reference(big, 1000)))
    import record  # bench/record.py -> docs/bench/eval.json

    record.write("eval", {"inception_seconds": s, "inception_img_per_s": a.images / s,
                          "inception_network": net.name, "seconds": TIMES}, [s], vars(a))


if __name__ == "__main__":
    main()

"""Benchmark MS-SSIM diversity: 10,000 random pairs of 128x128 RGB images (issue 6 target <= 10 s).

Run: .venv/bin/python bench/msssim_bench.py [--pairs 10000] [--side 128] [--batch 500]
Times gantool.eval.msssim.mean_msssim after one small warm-up call (tracing excluded).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=10000)
    ap.add_argument("--side", type=int, default=128)
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--batch", type=int, default=500)
    a = ap.parse_args()
    from gantool.eval.msssim import mean_msssim

    x = np.random.default_rng(0).integers(0, 256, (a.images, a.side, a.side, 3), dtype=np.uint8)
    mean_msssim(x, min(500, a.pairs), batch=a.batch)
    t0 = time.perf_counter()
    value = mean_msssim(x, a.pairs, batch=a.batch)
    s = time.perf_counter() - t0
    print(f"MS-SSIM {a.pairs} pairs at {a.side}x{a.side}x3, batch {a.batch}: {s:.2f} s "
          f"({a.pairs / s:.0f} pairs/s), mean {value:.4f}")
    import record  # bench/record.py -> docs/bench/msssim.json

    record.write("msssim", {"seconds": s, "pairs_per_s": a.pairs / s, "mean_msssim": value}, [s], vars(a))


if __name__ == "__main__":
    main()

"""Megapixel memory: `gantool train --dry-run`'s estimate against the measured peak.

For the reference DCGAN (64 filters) at 1024 px it packs two synthetic 1024 px images with the
real `gantool prep`, then for each batch size: reads the dry-run estimate (--json) and runs
`gantool train dcgan --steps 2` as a subprocess whose peak RSS (the process tree, sampled every
0.1 s with psutil) is recorded. On a CPU the peak includes TensorFlow's runtime, oneDNN buffers
and the end-of-run sample generation; the slope over the batch is what the estimate's
activation term predicts.

    .venv/bin/python bench/megapixel_bench.py                 # batches 1 2 4
    .venv/bin/python bench/megapixel_bench.py --batches 2 4 --filters 32
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from prep_bench import machine, run_measured  # noqa: E402

GIB = 1024 ** 3


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "gantool.cli", *map(str, args)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    import cv2
    import numpy as np

    work = Path(tempfile.mkdtemp(prefix="gantool-mega-"))
    raw = work / "raw"
    raw.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        img = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
        cv2.imwrite(str(raw / f"p{i}.png"), cv2.GaussianBlur(img, (31, 31), 0))
    data = work / "data"
    subprocess.run(cli("prep", raw, "--size", args.size, "--crop", "center", "--out", data, "-q", "--json"),
                   check=True, capture_output=True)
    rows = []
    for b in args.batches:
        common = ["--data", data, "--batch", b, "--filters", args.filters]
        est = json.loads(subprocess.run(cli("train", "dcgan", *common, "--dry-run", "--json"), check=True,
                                        capture_output=True, text=True).stdout)["estimate"]
        run = run_measured(cli("train", "dcgan", *common, "--steps", 2, "--grid", 1, "--sample-every", 0,
                               "--out", work / f"run-b{b}", "-q", "--json"))
        peak, secs = run["peak_rss_bytes"], run["seconds"]
        rows.append({"batch": b, "estimate_gib": est["memory_gib"],
                     "estimate_activations_gib": est["memory_bytes"]["activations"] / GIB,
                     "peak_rss_gib": peak / GIB, "seconds": secs, "params": est["params"]["total"]})
    print(f"dcgan {args.size} px, {args.filters} filters, {rows[0]['params']:,} parameters; {machine()}")
    print("| batch | estimate (GiB) | of which activations | measured peak RSS (GiB) | wall s |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['estimate_gib']:.2f} | {r['estimate_activations_gib']:.2f} | "
              f"{r['peak_rss_gib']:.2f} | {r['seconds']:.0f} |")
    if len(rows) > 1:
        a, z = rows[0], rows[-1]
        slope = (z["peak_rss_gib"] - a["peak_rss_gib"]) / (z["batch"] - a["batch"])
        est = (z["estimate_activations_gib"] - a["estimate_activations_gib"]) / (z["batch"] - a["batch"])
        print(f"per extra image: measured {slope:.2f} GiB, estimated {est:.2f} GiB")
    (work / "results.json").write_text(json.dumps(rows, indent=2))
    print(f"results: {work / 'results.json'}")
    import record  # bench/record.py -> docs/bench/megapixel.json

    record.write("megapixel", {"rows": rows}, rows, vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

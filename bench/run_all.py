"""Run every benchmark, one after another, each writing docs/bench/NAME.json (bench/record.py).

Run: .venv/bin/python bench/run_all.py [--only prep,train,...] [--list]
The machine should be otherwise idle: the scripts time wall clocks. `make bench` runs this.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name -> script; each writes docs/bench/<name>.json
BENCHES = {
    "prep": "prep_bench.py",
    "train": "train_bench.py",
    "variants": "variants_bench.py",
    "kernels": "kernels_bench.py",
    "quality": "quality_bench.py",
    "msssim": "msssim_bench.py",
    "eval": "eval_bench.py",
    "megapixel": "megapixel_bench.py",
    "scale": "scale_bench.py",
    "suite": "suite_bench.py",
    "startup": "startup_bench.py",
    "firststep": "firststep_bench.py",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="comma-separated names: " + ",".join(BENCHES))
    ap.add_argument("--list", action="store_true", help="print the benchmarks and their JSON files, run nothing")
    a = ap.parse_args()
    names = [n for n in a.only.split(",") if n] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}")
    failed = []
    for name in names:
        if a.list:
            print(f"{name}: bench/{BENCHES[name]} -> docs/bench/{name}.json")
            continue
        print(f"== {name}: bench/{BENCHES[name]}", flush=True)
        if subprocess.run([sys.executable, str(HERE / BENCHES[name])]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

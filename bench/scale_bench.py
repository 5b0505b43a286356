"""Data at scale: peak memory of `gantool prep` and `gantool train` on a 30,000-image dataset.

What it does (issue 7: "a 30,000-image 256x256 dataset streams through train with bounded memory"):

1. Writes N synthetic SIZExSIZE RGB JPEGs (q90) into WORKDIR/images: a random two-colour
   gradient, a random disc and rectangle, and Gaussian noise, all from a per-image seed, so
   every file is distinct (prep would drop byte-identical duplicates). Reused when the folder
   already holds exactly N of them.
2. Runs the real CLI `gantool prep WORKDIR/images --crop center --size SIZE --json -q` as a
   subprocess (default shards of ~256 MB), timed from launch to exit.
3. Runs the real CLI `gantool train dcgan --data WORKDIR/dataset` for --steps steps (default:
   enough images to enter the 5th shard) with small --filters, no intermediate samples or
   checkpoints, so it measures streaming shards into the train step. The shards the run reads
   are computed from the pipeline's own StreamPlan (same seed).

Peak RSS is the largest sum of RSS over the process tree (psutil, sampled every 0.1 s), as in
bench/prep_bench.py. The target is < 2 GB (2e9 bytes) for both commands.

Run it with `make bench` or directly, e.g.
    nice -n 19 .venv/bin/python bench/scale_bench.py                 # 30,000 images, then deletes them
    nice -n 19 .venv/bin/python bench/scale_bench.py --n 3000 --keep
Results go to stdout as a markdown table and to WORKDIR/results.json (kept; the images, the
dataset and the run folder are deleted unless --keep).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.prep_bench import machine, run_measured  # noqa: E402

TARGET_BYTES = 2_000_000_000
MB = 2**20


def make_images(folder: Path, n: int, size: int) -> float:
    """Write n distinct synthetic JPEGs unless the folder already holds exactly n; returns seconds spent."""
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("img*.jpg"))
    if len(existing) == n:
        return 0.0
    for p in existing:
        p.unlink()
    import cv2
    import numpy as np

    t0 = time.perf_counter()
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(n):
        rng = np.random.default_rng([2024, i])
        a = rng.uniform(0, 2 * math.pi)
        t = np.clip(0.5 + (np.cos(a) * (xx - 0.5) + np.sin(a) * (yy - 0.5)), 0, 1)[..., None]
        c0, c1 = rng.uniform(0, 255, (2, 3)).astype(np.float32)
        img = c0 * (1 - t) + c1 * t
        cx, cy = rng.uniform(0.2, 0.8, 2) * size
        r = rng.uniform(0.08, 0.3) * size
        img[(xx * size - cx) ** 2 + (yy * size - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
        x0, y0 = rng.integers(0, size * 3 // 4, 2)
        w, h = rng.integers(size // 10, size // 3, 2)
        img[y0:y0 + h, x0:x0 + w] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 8, img.shape).astype(np.float32)
        bgr = np.clip(img, 0, 255).astype(np.uint8)[..., ::-1]
        if not cv2.imwrite(str(folder / f"img{i:06d}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90]):
            sys.exit(f"cv2.imwrite failed for {folder / f'img{i:06d}.jpg'}")
        if (i + 1) % 5000 == 0:
            print(f"  generated {i + 1}/{n} images", file=sys.stderr, flush=True)
    return time.perf_counter() - t0


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_prep(args, images: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "gantool.cli", "prep", str(images), "--crop", "center", "--size", str(args.size),
           "--out", str(out), "--overwrite", "--json", "-q", "--workers", str(args.workers)]
    res = run_measured(cmd)
    manifest = json.loads((out / "manifest.json").read_text())
    res.update(images=args.n, count=res["result"]["count"], images_per_s=args.n / res["seconds"],
               dataset_bytes=folder_bytes(out), input_bytes=folder_bytes(images),
               shards=len(manifest["shards"]), shard_images=max(s["count"] for s in manifest["shards"]),
               shard_counts=[s["count"] for s in manifest["shards"]])
    return res


def shards_read(counts: list[int], seed: int, images: int) -> list[int]:
    """Shards the training stream reads from, in order, to deliver its first `images` images
    (pipeline.StreamPlan; a shard appears again when the stream wraps into the next epoch)."""
    from gantool.data.pipeline import StreamPlan

    seen: list[int] = []
    left = images
    for shard, idx in StreamPlan(counts, seed).positions(0):
        if left <= 0:
            break
        seen.append(shard)
        left -= len(idx)
    return seen


def run_train(args, data: Path, run: Path, shard_counts: list[int]) -> dict:
    steps = args.steps or math.ceil(4.5 * max(shard_counts) / args.batch)
    if run.exists():
        shutil.rmtree(run)
    cmd = [sys.executable, "-m", "gantool.cli", "train", "dcgan", "--data", str(data), "--out", str(run),
           "--steps", str(steps), "--batch", str(args.batch), "--filters", str(args.filters),
           "--sample-every", "0", "--ckpt-every", str(steps), "--log-every", str(args.log_every),
           "--seed", "0", "--json", "-q"]
    res = run_measured(cmd)
    logs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rates = [r["img_per_s"] for r in logs if "img_per_s" in r]
    # tf.data prefetches 2 batches beyond the last step
    read = shards_read(shard_counts, 0, (steps + 2) * args.batch)
    res.update(steps=steps, batch=args.batch, filters=args.filters, images_shown=steps * args.batch,
               shards_visited=len(set(read)), shard_loads=len(read), shard_order=read,
               img_per_s=res["result"]["img_per_s"],
               img_per_s_after_first_log=(sum(rates[1:]) / len(rates[1:]) if len(rates) > 1 else None),
               img_per_s_logs=rates, wall_img_per_s=steps * args.batch / res["seconds"])
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=30000, help="number of synthetic images (default 30000)")
    ap.add_argument("--size", type=int, default=256, help="image side in px, input and output (default 256)")
    ap.add_argument("--steps", type=int, default=0,
                    help="train steps (default 0: enough images to reach the 5th shard)")
    ap.add_argument("--batch", type=int, default=64, help="train --batch (default 64)")
    ap.add_argument("--filters", type=int, default=8, help="train --filters (default 8: measure data, not compute)")
    ap.add_argument("--log-every", type=int, default=10, help="train --log-every (default 10)")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="prep --workers (default: all cores)")
    ap.add_argument("--workdir", default="/tmp/gantool-scale", help="images, dataset, run and results.json go here")
    ap.add_argument("--keep", action="store_true", help="keep the images, dataset and run folder afterwards")
    args = ap.parse_args()
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    images, data, run = work / "images", work / "dataset", work / "run"
    command = shlex.join([sys.executable, *sys.argv])

    try:
        gen_s = make_images(images, args.n, args.size)
        prep = run_prep(args, images, data)
        train = run_train(args, data, run, prep["shard_counts"])
    finally:
        if not args.keep:
            for p in (images, data, run):
                shutil.rmtree(p, ignore_errors=True)

    mach = machine()
    prep_ok = prep["peak_rss_bytes"] < TARGET_BYTES
    train_ok = train["peak_rss_bytes"] < TARGET_BYTES
    print(f"machine: {mach['nproc']} usable cores (os.cpu_count {mach['cpu_count']}), {mach['cpu_model']}")
    print(f"command: {command}")
    print(f"prep:  {prep['command']}")
    print(f"train: {train['command']}\n")
    print(f"{args.n} synthetic {args.size}x{args.size} JPEGs, {prep['input_bytes'] / 1e9:.2f} GB"
          + (f" (generated in {gen_s:.0f} s)" if gen_s else " (reused)")
          + f" -> {prep['count']} images in {prep['shards']} shards of <= {prep['shard_images']} images, "
          f"{prep['dataset_bytes'] / 1e9:.2f} GB on disk\n")
    print("| command | images | wall seconds | img/s | peak RSS MB | peak RSS GB | < 2 GB |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(f"| prep --crop center --workers {args.workers} | {prep['count']} | {prep['seconds']:.1f} "
          f"| {prep['images_per_s']:.1f} | {prep['peak_rss_mb']:.0f} | {prep['peak_rss_bytes'] / 1e9:.2f} | {'yes' if prep_ok else 'NO'} |")
    print(f"| train dcgan --filters {args.filters} --batch {args.batch}, {train['steps']} steps, "
          f"{train['shards_visited']} shards | {train['images_shown']} | {train['seconds']:.1f} "
          f"| {train['img_per_s']:.1f} | {train['peak_rss_mb']:.0f} | {train['peak_rss_bytes'] / 1e9:.2f} | {'yes' if train_ok else 'NO'} |")
    print()
    steady = train["img_per_s_after_first_log"]
    print(f"prep: wall seconds = whole CLI run incl. start-up; the CLI reports {prep['result']['images_per_s']:.1f} "
          f"img/s; main-process ru_maxrss {prep['main_ru_maxrss_mb']:.0f} MB; {prep['processes_at_peak']} "
          f"processes at the peak.")
    print("train: img/s = the CLI's own figure over its training loop; "
          + (f"{steady:.1f} img/s averaged over log intervals after the first (tracing); " if steady else "")
          + f"{train['wall_img_per_s']:.1f} img/s over the whole process (TF start-up, model build, pfd8 real "
          f"stats read from every shard). Shards read, in order: {train['shard_order']} "
          f"({train['shards_visited']} distinct). "
          f"Main-process ru_maxrss {train['main_ru_maxrss_mb']:.0f} MB.")
    print("MB = 2^20 bytes, GB = 1e9 bytes; the target is < 2 GB (2e9 bytes = 1907 MB).")

    results = {"machine": mach, "command": command, "args": vars(args), "generate_seconds": gen_s,
               "prep": prep, "train": train, "prep_under_2gb": prep_ok, "train_under_2gb": train_ok,
               "kept": args.keep}
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {work / 'results.json'}")
    import record  # bench/record.py -> docs/bench/scale.json

    record.write("scale", results, [prep, train], vars(args))
    return 0 if prep_ok and train_ok else 1


if __name__ == "__main__":
    sys.exit(main())

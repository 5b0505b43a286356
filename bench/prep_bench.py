"""Benchmark `gantool prep` (face-crop mode) against a naive one-photo-at-a-time MTCNN loop.

What it measures, on N generated photos (~1024 px long side, one face each, JPEG q90):

* naive: in a child process, one MTCNN(device="CPU:0"); for each photo decode it, run
  detect_faces on the full-resolution image, square-crop the largest face box and resize it
  to --size. Only the loop is timed (TensorFlow import and detector construction are not);
  peak RSS is the child's own ru_maxrss.
* gantool: the real CLI (`python -m gantool.cli prep ... --json -q`) as a subprocess, timed
  wall clock from launch to exit (TensorFlow start-up and worker spawn included). Peak RSS is
  the largest sum of RSS over the process tree, sampled every 0.1 s with psutil.

Run it with `make bench` (runs `.venv/bin/python bench/prep_bench.py`) or directly, e.g.
    .venv/bin/python bench/prep_bench.py --n 200 --workers 4
Results go to stdout as a markdown table and to WORKDIR/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CANVASES = [(768, 1024), (1024, 768), (1024, 1024)]  # (height, width)


def make_photos(folder: Path, n: int) -> None:
    """Write n distinct face photos unless the folder already holds exactly n."""
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("p*.jpg"))
    if len(existing) == n:
        return
    for p in existing:
        p.unlink()
    sys.path.insert(0, str(REPO / "tests"))
    import numpy as np
    import photos

    face = photos.astronaut()
    rng = np.random.default_rng(1234)
    for i in range(n):
        h, w = CANVASES[i % len(CANVASES)]
        scale = rng.uniform(0.8, 1.6)
        # astronaut centre; the face sits ~140*scale px above it, so keep the centre low enough
        at = (rng.uniform(0.35, 0.65) * w, rng.uniform(0.5, 0.65) * h)
        img, _ = photos.place(face, (h, w), scale, 0.0, at, seed=i)
        photos.save(img, folder / f"p{i:04d}.jpg", quality=90)


def naive_loop(folder: Path, size: int) -> dict:
    """The baseline, run inside the child process; returns its timings and peak RSS."""
    import cv2

    from gantool.prep.imageio import decode_file
    from gantool.tfquiet import import_mtcnn, silenced_stderr

    paths = sorted(folder.glob("p*.jpg"))
    MTCNN = import_mtcnn()
    with silenced_stderr():
        detector = MTCNN(device="CPU:0")
    crops, t0 = 0, time.perf_counter()
    for path in paths:
        img = decode_file(str(path))
        faces = detector.detect_faces(img)
        if not faces:
            continue
        x, y, bw, bh = max(faces, key=lambda f: f["box"][2] * f["box"][3])["box"]
        ih, iw = img.shape[:2]
        side = min(max(bw, bh), ih, iw)
        x0 = min(max(0, int(x + bw / 2 - side / 2)), iw - side)
        y0 = min(max(0, int(y + bh / 2 - side / 2)), ih - side)
        cv2.resize(img[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)
        crops += 1
    seconds = time.perf_counter() - t0
    return {"photos": len(paths), "crops": crops, "seconds": seconds, "images_per_s": len(paths) / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_naive(args) -> dict:
    cmd = [sys.executable, __file__, "--naive-only", "--n", str(args.n), "--workdir", args.workdir,
           "--size", str(args.size)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"naive child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_seconds"] = time.perf_counter() - t0
    return res


def tree_rss(proc) -> int:
    """Sum of RSS (bytes) of a psutil.Process and all its descendants."""
    import psutil

    total = 0
    try:
        members = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for p in members:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_measured(cmd: list[str]) -> dict:
    """Run cmd (from the repo root), sampling the RSS of its process tree every 0.1 s; its last
    stdout line is its --json result. sys.exit on failure."""
    import psutil

    with tempfile.TemporaryFile("w+") as so, tempfile.TemporaryFile("w+") as se:
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=so, stderr=se, cwd=REPO)
        ps, peak, peak_procs, timeline, k = psutil.Process(child.pid), 0, 0, [], 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            rss = tree_rss(ps)
            if rss > peak:
                peak = rss
                try:
                    peak_procs = 1 + len(ps.children(recursive=True))
                except psutil.NoSuchProcess:
                    pass
            if k % 10 == 0:  # one point a second for results.json
                timeline.append([round(time.perf_counter() - t0, 1), round(rss / 2**20)])
            k += 1
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
        so.seek(0), se.seek(0)
        stdout, stderr = so.read(), se.read()
    if child.returncode != 0:
        sys.exit(f"failed ({child.returncode}): {shlex.join(cmd)}\n{stdout[-2000:]}{stderr[-3000:]}")
    return {"command": shlex.join(cmd), "seconds": wall, "peak_rss_bytes": peak, "peak_rss_mb": peak / 2**20,
            "processes_at_peak": peak_procs, "main_ru_maxrss_mb": usage.ru_maxrss / 1024,
            "result": json.loads(stdout.strip().splitlines()[-1]), "rss_mb_per_second": timeline}


def run_gantool(args, photos_dir: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "gantool.cli", "prep", str(photos_dir), "--size", str(args.size),
           "--out", str(out), "--overwrite", "--json", "-q", "--workers", str(args.workers)]
    run = run_measured(cmd)
    res, wall = run["result"], run["seconds"]
    return {"command": run["command"], "seconds": wall, "images_per_s": args.n / wall,
            "cli_images_per_s": res["images_per_s"], "cli_seconds": res["seconds"], "count": res["count"],
            "skipped": res["skipped"], "peak_rss_mb": run["peak_rss_mb"], "main_ru_maxrss_mb": run["main_ru_maxrss_mb"]}


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(), "cpu_model": model}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="number of photos (default 200)")
    ap.add_argument("--workdir", default="bench/out/prep", help="photos, dataset and results.json go here")
    ap.add_argument("--size", type=int, default=256, help="output side in px (default 256)")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="gantool --workers (default: all cores)")
    ap.add_argument("--skip-naive", action="store_true", help="only run gantool")
    ap.add_argument("--naive-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.workdir).resolve()
    args.workdir = str(work)
    photos_dir = work / "photos"
    if args.naive_only:  # child mode: print one JSON line and exit
        print(json.dumps(naive_loop(photos_dir, args.size)))
        return 0

    make_photos(photos_dir, args.n)
    naive = None if args.skip_naive else run_naive(args)
    gan = run_gantool(args, photos_dir, work / "dataset")
    mach = machine()
    speedup = gan["images_per_s"] / naive["images_per_s"] if naive else None
    ok = gan["count"] >= 0.95 * args.n

    print(f"machine: {mach['nproc']} usable cores (os.cpu_count {mach['cpu_count']}), {mach['cpu_model']}")
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"gantool: {gan['command']}\n")
    print("| method | photos | wall seconds | images/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    if naive:
        print(f"| naive loop (full-res detect_faces, 1 process) | {naive['photos']} | {naive['seconds']:.2f} "
              f"| {naive['images_per_s']:.2f} | {naive['peak_rss_mb']:.0f} |")
    print(f"| gantool prep --workers {args.workers} | {args.n} | {gan['seconds']:.2f} | {gan['images_per_s']:.2f} "
          f"| {gan['peak_rss_mb']:.0f} |")
    print()
    if naive:
        print(f"naive: wall seconds = the timed loop only (TF import and MTCNN construction excluded; whole child "
              f"process took {naive['process_seconds']:.2f} s); {naive['crops']}/{naive['photos']} photos gave a crop.")
    print(f"gantool: wall seconds = whole CLI run incl. TF start-up; the CLI itself reports "
          f"{gan['cli_images_per_s']:.2f} images/s over {gan['cli_seconds']:.2f} s; packed {gan['count']}/{args.n}"
          f" (skipped: {gan['skipped'] or 'none'}); peak RSS = sum over process tree (psutil, 0.1 s), "
          f"main-process ru_maxrss {gan['main_ru_maxrss_mb']:.0f} MB (Linux folds reaped workers into it: "
          f"the largest single process).")
    print("MB = 2^20 bytes.")
    if speedup is not None:
        print(f"speed-up: {speedup:.2f}x (gantool images/s over whole wall clock / naive images/s over loop only)")
    if not ok:
        print(f"FAIL: gantool packed {gan['count']} < 95% of {args.n} photos")

    results = {"machine": mach, "command": shlex.join([sys.executable, *sys.argv]), "n": args.n,
               "size": args.size, "workers": args.workers, "naive": naive, "gantool": gan,
               "speedup": speedup, "packed_ok": ok}
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    import record  # bench/record.py -> docs/bench/prep.json

    record.write("prep", results, [naive, gan], vars(args))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

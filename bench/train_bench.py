"""Benchmark gantool's DCGAN train step and generation against a minimal PyTorch CPU DCGAN.

Shape: the reference DCGAN, 64x64x3, z 100, 64 filters (G 3,576,704 / D 2,765,568 parameters in
both frameworks), batch 64, non-saturating BCE, Adam 2e-4 / 0.5. One step = one D update (on
real and fake) and one G update, as in gantool's engine. Real data is a fixed synthetic batch in
both, so only compute is timed: `--warmup` steps are run first (tracing / allocation), then
`--steps` steps are timed. Generation: G in inference mode, batches of 64.

gantool side: `gantool.train.state.build_state` + `gantool.train.step.make_steps`, the same
compiled function `gantool train` runs (with and without --xla when `--xla both`).
PyTorch side: bench/torch_dcgan.py run with bench/.torch-venv/bin/python (torch is not a
gantool dependency). Set it up once:
    python3 -m venv bench/.torch-venv && bench/.torch-venv/bin/pip install torch==2.13.0 numpy

Run: .venv/bin/python bench/train_bench.py            (results: stdout table + bench/out/train.json)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def bench_gantool(size: int, batch: int, filters: int, z_dim: int, steps: int, warmup: int, gen_steps: int,
                  xla: bool) -> dict:
    import numpy as np

    from gantool.config import TrainConfig
    from gantool.tfquiet import import_tf
    from gantool.train.state import build_state
    from gantool.train.step import make_steps

    tf = import_tf()
    cfg = TrainConfig(variant="dcgan", data="-", run_dir="-", dataset_name="bench", size=size, channels=3,
                      steps=steps + warmup, batch=batch, filters=filters, max_filters=512, z_dim=z_dim,
                      xla=xla).validate()
    state = build_state(cfg)
    train_step, _ = make_steps(state)
    real = tf.constant(np.random.default_rng(0).integers(0, 256, (batch, size, size, 3), dtype=np.uint8))
    for _ in range(warmup):
        float(train_step(real, 1.0)["d_loss"])
    t0 = time.perf_counter()
    for _ in range(steps):
        out = train_step(real, 1.0)
    float(out["d_loss"])
    train_s = time.perf_counter() - t0

    G = state.G
    gen = tf.function(lambda z: G(z, training=False), jit_compile=xla)
    z = tf.random.uniform((batch, z_dim), -1, 1)
    for _ in range(2):
        gen(z).numpy()
    t0 = time.perf_counter()
    for _ in range(gen_steps):
        gen(z).numpy()
    gen_s = time.perf_counter() - t0
    count = lambda m: int(sum(np.prod(v.shape) for v in m.trainable_variables))  # noqa: E731
    return {"framework": "gantool" + (" --xla" if xla else ""), "tf_version": tf.__version__,
            "train_img_per_s": steps * batch / train_s, "gen_img_per_s": gen_steps * batch / gen_s,
            "params_g": count(G), "params_d": count(state.D)}


def bench_torch(args) -> dict | None:
    py = REPO / "bench/.torch-venv/bin/python"
    if not py.exists():
        print(f"(no {py}: skipping PyTorch; see this file's docstring)", file=sys.stderr)
        return None
    cmd = [str(py), str(REPO / "bench/torch_dcgan.py"), "--json", "--size", str(args.size), "--batch", str(args.batch),
           "--filters", str(args.filters), "--z-dim", str(args.z_dim), "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--gen-steps", str(args.gen_steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--z-dim", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--gen-steps", type=int, default=20)
    ap.add_argument("--xla", choices=["off", "on", "both"], default="both")
    ap.add_argument("--out", default=str(REPO / "bench/out/train.json"))
    args = ap.parse_args()

    rows = []
    for xla in {"off": [False], "on": [True], "both": [False, True]}[args.xla]:
        # each configuration in its own process: no shared thread pools or caches
        code = ("import json,sys; sys.path.insert(0, %r); from bench.train_bench import bench_gantool; "
                "print(json.dumps(bench_gantool(%d, %d, %d, %d, %d, %d, %d, %r)))"
                % (str(REPO), args.size, args.batch, args.filters, args.z_dim, args.steps, args.warmup,
                   args.gen_steps, xla))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    torch_row = bench_torch(args)
    if torch_row:
        rows.append(torch_row)
    print(f"DCGAN {args.size}x{args.size}x3, batch {args.batch}, z {args.z_dim}, {args.filters} filters, "
          f"{os.cpu_count()} cores, {args.steps} timed steps after {args.warmup} warm-up")
    print("| framework | train img/s | generate img/s | G params | D params |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['framework']} | {r['train_img_per_s']:.1f} | {r['gen_img_per_s']:.1f} | "
              f"{r['params_g']:,} | {r['params_d']:,} |")
    if torch_row:
        best = max(r["train_img_per_s"] for r in rows if r["framework"].startswith("gantool"))
        print(f"gantool / PyTorch, train: {best / torch_row['train_img_per_s']:.2f}x; "
              f"generate: {rows[0]['gen_img_per_s'] / torch_row['gen_img_per_s']:.2f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2) + "\n")
    import record  # bench/record.py -> docs/bench/train.json

    record.write("train", {"rows": rows}, rows, vars(args))


if __name__ == "__main__":
    main()

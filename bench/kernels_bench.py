"""Where gantool's DCGAN training step spends its time, and what the levers tried against it gave.

The step is bench/train_bench.py's bare step (the reference DCGAN at 64x64x3, batch 64, z 100,
64 filters: what `gantool train dcgan` runs, on one fixed batch). Two parts:

kernels  One fresh process with ONEDNN_VERBOSE=1 (oneDNN, the library TensorFlow's CPU
         convolutions, matrix products and layout reorders run in, prints one line per primitive
         it executes, with its time) runs W warm-up and S timed steps. Every primitive of the
         timed steps is kept; per kind (convolution forward / backward data / backward weights,
         reorder, matrix product): milliseconds and calls per step and, for convolutions,
         GFLOP/s = 2 * mb * ic * oc * oh * ow * kh * kw / time. TensorFlow runs independent ops at
         the same time on its inter-op threads, each with every core, so the primitives' times
         add up to more than the step's wall time (`primitive_over_wall`); a primitive's GFLOP/s
         is therefore what it got while sharing the cores, not what it would get alone.
levers   The bare step's img/s under each configuration, each a fresh process in every round,
         the order rotated each round (median, min, max, spread = (max - min) / median):
           default       what `gantool train` runs;
           xla           --xla (XLA compiles the step);
           inter-op-1    TF_NUM_INTEROP_THREADS=1 (one op at a time, each with every core);
           intra-op-1    TF_NUM_INTRAOP_THREADS=1 (ops side by side, one core each);
           joint-d       D scores the real and the fake batch as one batch of 2B rows (one call
                         per layer instead of two; BatchNorm then sees both kinds at once, which
                         is a different model: measured for speed only, never offered);
           malloc        glibc's MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ fixed high, so
                         large temporary buffers are reused instead of mapped and faulted in anew.

Run (idle machine; stdout table + docs/bench/kernels.json via bench/record.py):
    .venv/bin/python bench/kernels_bench.py [--rounds 3]
    .venv/bin/python bench/kernels_bench.py --quick     (smoke test; writes bench/out/kernels.json)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from train_bench import last_json, network_args, run, spread, thread_env  # noqa: E402

LEVERS = {
    "default": {},
    "xla": {},
    "inter-op-1": {"TF_NUM_INTEROP_THREADS": "1"},
    "intra-op-1": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "2"},
    "joint-d": {},
    "malloc": {"MALLOC_MMAP_THRESHOLD_": str(2 ** 30), "MALLOC_TRIM_THRESHOLD_": str(2 ** 32)},
}
START, END = "KERNELS-BENCH-START", "KERNELS-BENCH-END"
QUICK = {"size": 16, "filters": 8, "batch": 8, "steps": 2, "warmup": 1, "rounds": 1}


# ---- the child process: the bare step under one configuration

def joint_d_batch() -> None:
    """Make the step score real and fake in one D call (the spec's joint_d_batch), for `joint-d`."""
    import dataclasses

    import gantool.train.step as step_mod

    spec_of = step_mod.spec_of
    step_mod.spec_of = lambda cfg: dataclasses.replace(spec_of(cfg), joint_d_batch=True)


def child(lever: str, size: int, batch: int, filters: int, z_dim: int, steps: int, warmup: int) -> dict:
    """Time `steps` calls of the bare step after `warmup` ones; print markers around the timed
    calls (ONEDNN_VERBOSE's lines between them are the timed steps' primitives)."""
    from train_bench import bare_step

    if lever == "joint-d":
        joint_d_batch()
    state, train_step, real = bare_step(size, batch, filters, z_dim, steps + warmup, xla=lever == "xla")
    for _ in range(warmup):
        float(train_step(real, 1.0)["d_loss"])
    print(START, flush=True)
    t0 = time.perf_counter()
    for _ in range(steps):
        out = train_step(real, 1.0)
    float(out["d_loss"])
    seconds = time.perf_counter() - t0
    print(END, flush=True)
    return {"lever": lever, "train_s": seconds, "step_s": seconds / steps, "train_img_per_s": steps * batch / seconds}


# ---- parsing oneDNN's verbose lines

def conv_flops(problem: str) -> float:
    """2 * mb * ic * oc * oh * ow * kh * kw from a convolution's problem string, e.g.
    'mb64_ic64oc128_ih32oh16kh4sh2dh0ph1_iw32ow16kw4sw2dw0pw1' (groups and depth absent: 2D, g1)."""
    d = {k: int(v) for k, v in re.findall(r"([a-z]+)(\d+)", problem)}
    return 2.0 * d["mb"] * d["ic"] * d["oc"] * d["oh"] * d["ow"] * d["kh"] * d["kw"] / d.get("g", 1)


def primitives(text: str) -> list[dict]:
    """The primitives executed between the START and END markers: kind, prop, impl, problem, ms."""
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith(START):
            inside = True
        elif line.startswith(END):
            break
        elif inside and line.startswith("onednn_verbose,") and ",primitive,exec," in line:
            f = line.split(",")
            # onednn_verbose,v1,primitive,exec,cpu,KIND,IMPL,PROP,MEMORY,ATTRS,AUX,PROBLEM,MS
            rows.append({"kind": f[5], "impl": f[6], "prop": f[7], "problem": f[-2], "ms": float(f[-1])})
    return rows


def by_kind(rows: list[dict], steps: int) -> list[dict]:
    """Per (kind, propagation): ms and calls per step, implementations, and GFLOP/s for convolutions."""
    acc = defaultdict(lambda: {"ms": 0.0, "calls": 0, "flops": 0.0, "impls": set()})
    for r in rows:
        prop = r["prop"] if r["kind"] == "convolution" else ""
        a = acc[(r["kind"], prop)]
        a["ms"] += r["ms"]
        a["calls"] += 1
        a["impls"].add(r["impl"])
        if r["kind"] == "convolution":
            a["flops"] += conv_flops(r["problem"])
    out = []
    for (kind, prop), a in sorted(acc.items(), key=lambda kv: -kv[1]["ms"]):
        out.append({"kind": kind, "prop": prop, "ms_per_step": a["ms"] / steps, "calls_per_step": a["calls"] / steps,
                    "impls": sorted(a["impls"]),
                    "gflop_per_s": a["flops"] / (a["ms"] / 1e3) / 1e9 if a["flops"] else None})
    return out


# ---- the parent

def child_cmd(a, lever: str) -> list[str]:
    code = ("import json,sys; sys.path[:0] = [%r, %r]; from kernels_bench import child; "
            "print(json.dumps(child(%r, %d, %d, %d, %d, %d, %d)))"
            % (str(REPO), str(REPO / "bench"), lever, a.size, a.batch, a.filters, a.z_dim, a.steps, a.warmup))
    return [sys.executable, "-c", code]


def env_for(a, lever: str, verbose: bool = False) -> dict:
    env = {**thread_env(a.threads), **LEVERS[lever]}
    if verbose:
        env["ONEDNN_VERBOSE"] = "1"
    return env


def profile(a, tmp: Path) -> dict:
    res, wall = run(child_cmd(a, "default"), env_for(a, "default", verbose=True), tmp)
    timing = last_json(res.stdout)
    rows = primitives(res.stdout)
    kinds = by_kind(rows, a.steps)
    total = sum(k["ms_per_step"] for k in kinds)
    return {"step_ms": 1e3 * timing["step_s"], "primitive_ms_per_step": total,
            "primitive_over_wall": total / (1e3 * timing["step_s"]), "kinds": kinds,
            "conv_share_of_primitive_time": sum(k["ms_per_step"] for k in kinds if k["kind"] == "convolution") / total
            if total else None, "primitives": rows, "process_wall_s": wall}


def levers(a, tmp: Path) -> tuple[list[dict], list[list[str]]]:
    names = a.lever_list
    samples, orders = [], []
    for r in range(a.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        orders.append(order)
        for pos, name in enumerate(order):
            load = os.getloadavg()[0]
            res, wall = run(child_cmd(a, name), env_for(a, name), tmp)
            row = last_json(res.stdout)
            samples.append({"round": r, "position": pos, "loadavg_1m_before": load, "process_wall_s": wall, **row})
            print(f"round {r + 1}/{a.rounds} {name}: {row['train_img_per_s']:.1f} img/s", file=sys.stderr, flush=True)
    return samples, orders


def summarize(a, prof: dict, samples: list[dict], orders: list[list[str]]) -> dict:
    rows = []
    for name in a.lever_list:
        stats = spread([s["train_img_per_s"] for s in samples if s["lever"] == name])
        rows.append({"lever": name, **stats})
    base = next(r["median"] for r in rows if r["lever"] == "default")
    for r in rows:
        r["over_default"] = r["median"] / base
    return {"profile": {k: v for k, v in prof.items() if k != "primitives"}, "levers": rows, "orders": orders,
            "threads": a.threads}


def print_table(a, s: dict) -> None:
    p = s["profile"]
    print(f"\nbare DCGAN step {a.size}x{a.size}x3, batch {a.batch}, {a.filters} filters, {a.threads} threads; "
          f"{a.steps} timed steps after {a.warmup} warm-up")
    print(f"step {p['step_ms']:.0f} ms wall; oneDNN primitives {p['primitive_ms_per_step']:.0f} ms per step "
          f"({p['primitive_over_wall']:.2f}x the wall: ops overlap); convolutions "
          f"{100 * (p['conv_share_of_primitive_time'] or 0):.1f} % of the primitives' time")
    print("| kind | ms/step | calls/step | GFLOP/s | implementation |")
    print("|---|---:|---:|---:|---|")
    for k in p["kinds"]:
        g = "-" if k["gflop_per_s"] is None else f"{k['gflop_per_s']:.1f}"
        print(f"| {k['kind']} {k['prop']} | {k['ms_per_step']:.1f} | {k['calls_per_step']:.1f} | {g} | {', '.join(k['impls'])} |")
    print("\n| lever | img/s median | min | max | spread | vs default |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in s["levers"]:
        print(f"| {r['lever']} | {r['median']:.1f} | {r['min']:.1f} | {r['max']:.1f} | {100 * r['spread']:.1f} % | "
              f"{r['over_default']:.3f}x |")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    network_args(ap)
    ap.add_argument("--steps", type=int, default=8, help="timed steps per process")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--levers", default=",".join(LEVERS), help="comma list of: " + ",".join(LEVERS))
    ap.add_argument("--quick", action="store_true", help="smoke test: " + " ".join(f"{k} {v}" for k, v in QUICK.items()))
    a = ap.parse_args()
    if a.quick:
        for k, v in QUICK.items():
            setattr(a, k, v)
    a.lever_list = [x for x in a.levers.split(",") if x]
    bad = [x for x in a.lever_list if x not in LEVERS]
    if bad or "default" not in a.lever_list:
        ap.error(f"--levers: unknown {bad}" if bad else "--levers: must include default")
    a.threads = len(os.sched_getaffinity(0))
    return a


def main() -> None:
    import tempfile

    a = parse_args()
    with tempfile.TemporaryDirectory(prefix="kernels-bench-") as tmp_name:
        tmp = Path(tmp_name)
        prof = profile(a, tmp)
        samples, orders = levers(a, tmp)
    summary = summarize(a, prof, samples, orders)
    print_table(a, summary)
    import record  # bench/record.py -> docs/bench/kernels.json

    args = {k: v for k, v in vars(a).items() if k != "lever_list"}
    record.write("kernels", summary, {"levers": samples, "primitives": prof["primitives"]}, args,
                 out_dir=REPO / "bench/out" if a.quick else None)


if __name__ == "__main__":
    main()

"""Every variant's bare training step at its report size, in FLOP/s against the machine's matmul ceiling.

Configurations, each run in a fresh process of its own in every round (order rotated by the round):
  ceiling      float32 `tf.linalg.matmul` of two n x n matrices in a tf.function (n = 2048 and 4096),
               repeated for about --matmul-seconds per size; GFLOP/s = 2 n^3 * calls / s. A round's
               sample is its best size; the ceiling is the median of the rounds' samples.
  gan          gan at 28 px, 1 channel (the MNIST report's fully connected GAN), batch 64
  dcgan-mnist  dcgan --preset mnist at 28 px, 1 channel, batch 64
  hdcgan       hdcgan at 64 px, 3 channels, batch 32 (its default, with its annealed noises)
  pggan        pggan's final 32 px stage (alpha 1, stabilising), 3 channels, --filters 8
               --max-filters 64 (small filters: 64 channels at every level; the default's are 512),
               batch 32 (the growth plan's batch at 32 px)
  dcgan-64     dcgan 64 px, 3 channels, batch 64: the reference network of bench/train_bench.py
  stylegan2    stylegan2 at 32 px, 3 channels, its defaults (batch 32); its recipe adds lazy R1 every
               16 steps and path length every 4 (each a tf.cond inside the one compiled step): the
               timed steps are whole 16-step cycles, so the rate includes the lazy terms.
  gan-xla, dcgan-mnist-xla
               gan and dcgan-mnist with --xla (XLA compiles the step): whether it helps a small
               step (kernels_bench.py measures it on dcgan-64, where it is slower).
A variant's settings are its own defaults (the variant's ModelSpec defaults over TrainConfig's).
Timed: the step `gantool train` runs (build_state + make_steps, XLA off unless the configuration
says --xla) on one fixed uint8 batch:
--warmup calls (tracing), then calls until --seconds have passed (a whole number of cycles, at
least one), the clock stopped after the last loss is on the host. Data loading is not included.

FLOPs per step: TF's registered flops statistics of the traced step's graph (what
`tf.compat.v1.profiler.profile(graph, float_operation())` counts: Conv2D, Conv2DBackpropInput,
Conv2DBackpropFilter, MatMul, element-wise ops), counted once per variant in the first round.
`gflop_graph` counts every op the tape wrote into the graph (the profiler's total); `gflop_live`
only those that reach the step's outputs or side effects: the tape also writes gradients nobody
uses (D's filter gradients in the G update, the input gradient of D's first layer in the D update),
which Grappler prunes before running. GFLOP/s and % of ceiling use the live count. For stylegan2
the count is averaged over a 16-step cycle (1 step with R1 and path length, 3 with path length only,
12 plain), each set counted on a step traced with exactly those terms (see step_flops).

Threads: every process gets all usable cores (os.sched_getaffinity) via OMP_NUM_THREADS and
TF_NUM_INTRAOP_THREADS.

Run (idle machine; results: stdout table + docs/bench/variants.json via bench/record.py):
    .venv/bin/python bench/variants_bench.py [--rounds 3]
    .venv/bin/python bench/variants_bench.py --quick   (smoke test; writes bench/out/variants.json)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.train_bench import spread, thread_env  # noqa: E402

# name -> TrainConfig settings (over the variant's own defaults); "cycle": timed steps come in whole cycles
VARIANTS = {
    "gan": {"variant": "gan", "size": 28, "channels": 1},
    "dcgan-mnist": {"variant": "dcgan", "size": 28, "channels": 1, "preset": "mnist"},
    "hdcgan": {"variant": "hdcgan", "size": 64, "channels": 3},
    "pggan": {"variant": "pggan", "size": 32, "channels": 3, "filters": 8, "max_filters": 64, "batch": 32,
              "fade_kimg": 1.0, "stable_kimg": 1.0},
    "dcgan-64": {"variant": "dcgan", "size": 64, "channels": 3},
    "stylegan2": {"variant": "stylegan2", "size": 32, "channels": 3, "cycle": 16, "warmup": 5},
    "gan-xla": {"variant": "gan", "size": 28, "channels": 1, "xla": True},
    "dcgan-mnist-xla": {"variant": "dcgan", "size": 28, "channels": 1, "preset": "mnist", "xla": True},
}
CONFIGS = ["ceiling", *VARIANTS]
QUICK = {"rounds": 1, "seconds": 0.3, "warmup": 1, "matmul_sizes": "256,512", "matmul_seconds": 0.3}
QUICK_CFG = {"size": 16, "filters": 4, "max_filters": 16, "batch": 4, "z_dim": 8}  # 16 px everywhere, tiny nets
QUICK_SIZE = {"gan": 16, "dcgan-mnist": 28}  # the mnist preset is 28 px only


def train_config(name: str, quick: bool):
    from gantool.config import TrainConfig
    from gantool.models import VARIANTS as SPECS

    settings = {k: v for k, v in VARIANTS[name].items() if k not in ("cycle", "warmup")}
    kw = {**SPECS.get(settings["variant"]).defaults, **settings}
    if quick:
        kw.update(QUICK_CFG, size=QUICK_SIZE.get(name.removesuffix("-xla"), QUICK_CFG["size"]))
    return TrainConfig(data="-", run_dir="-", dataset_name="bench", steps=1000, **kw).validate()


def matmul_ceiling(sizes: list[int], seconds: float) -> dict:
    """float32 n x n matmul GFLOP/s for each n, in this process."""
    from gantool.tfquiet import import_tf

    tf = import_tf()
    mm = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    per_size = {}
    for n in sizes:
        a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))
        for _ in range(2):
            mm(a, b).numpy()
        calls, t0 = 0, time.perf_counter()
        while True:
            out = mm(a, b)
            calls += 1
            if time.perf_counter() - t0 >= seconds:
                break
        float(out[0, 0])
        s = time.perf_counter() - t0
        per_size[str(n)] = {"calls": calls, "s": s, "gflop_per_s": 2 * n ** 3 * calls / s / 1e9}
    best = max(per_size, key=lambda k: per_size[k]["gflop_per_s"])
    return {"per_size": per_size, "best_n": int(best), "gflop_per_s": per_size[best]["gflop_per_s"]}


def graph_flops(fn, real) -> dict:
    """GFLOPs of one traced step: the profiler's total, the same per op type, and the live part."""
    import collections

    from tensorflow.python.framework import ops as tf_ops

    from gantool.tfquiet import import_tf

    tf = import_tf()
    graph = fn.get_concrete_function(real, 1.0).graph
    opts = dict(tf.compat.v1.profiler.ProfileOptionBuilder.float_operation(), output="none")
    total = tf.compat.v1.profiler.profile(graph=graph, options=opts).total_float_ops
    live, todo = set(), [t.op for t in graph.outputs] + list(graph.control_outputs)
    while todo:  # ops that reach an output or a side effect (what Grappler keeps)
        op = todo.pop()
        if op.name not in live:
            live.add(op.name)
            todo.extend([t.op for t in op.inputs] + list(op.control_inputs))
    by_type, live_flops, nested = collections.Counter(), 0, set()
    for op in graph.get_operations():
        if op.type in ("While", "StatelessWhile", "If", "StatelessIf", "PartitionedCall", "StatefulPartitionedCall"):
            nested.add(op.type)  # ops inside these are not counted: say so
        try:
            f = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value or 0
        except ValueError:
            f = 0
        by_type[op.type] += f
        live_flops += f * (op.name in live)
    return {"gflop_graph": total / 1e9, "gflop_live": live_flops / 1e9, "nested_ops": sorted(nested),
            "gflop_by_type": {k: v / 1e9 for k, v in by_type.most_common() if v}}


def step_flops(state, real, recipe_cycle: int) -> dict:
    """FLOPs of the step; for a recipe with lazy terms, the mean over one cycle of its due sets.

    The step `gantool train` runs holds each lazy term in a tf.cond on the step counter (both
    branches in one graph; the profiler does not look inside them), so each due set is counted on
    a step traced with its terms written in or left out (CountingStep.lazy), then averaged with
    the number of steps of the cycle it applies to."""
    from gantool.tfquiet import import_tf
    from gantool.train.step import Step

    tf = import_tf()

    class CountingStep(Step):
        due = frozenset()

        def lazy(self, every, due_fn, else_fn):
            return due_fn() if every in self.due else else_fn()

    recipe = state.recipe
    intervals = (recipe.r1_interval, recipe.pl_interval) if recipe is not None else ()
    dues = [frozenset(e for e in intervals if i % e == 0) for i in range(recipe_cycle)] if intervals else [frozenset()]
    names = {recipe.r1_interval: "r1", recipe.pl_interval: "pl"} if recipe is not None else {}
    counts = {}
    for due in sorted(set(dues), key=sorted):
        step = CountingStep(state, None, None, None, False, 1, None)
        step.due = due
        fn = tf.function(lambda b, a, s=step: s.train_step(b, a), reduce_retracing=True, autograph=False)
        counts[",".join(sorted(names[e] for e in due)) or "plain"] = {"steps_per_cycle": dues.count(due),
                                                                      **graph_flops(fn, real)}
    mean = lambda k: sum(c[k] * c["steps_per_cycle"] for c in counts.values()) / len(dues)  # noqa: E731
    return {"gflop_graph": mean("gflop_graph"), "gflop_live": mean("gflop_live"), "by_due": counts}


def bench_variant(name: str, quick: bool, seconds: float, warmup: int, count_flops: bool) -> dict:
    """One variant's bare step, in this process."""
    import numpy as np

    from gantool.tfquiet import import_tf
    from gantool.train.state import build_state
    from gantool.train.step import make_steps

    tf = import_tf()
    cfg = train_config(name, quick)
    cycle, warmup = VARIANTS[name].get("cycle", 1), max(warmup, VARIANTS[name].get("warmup", 1))
    state = build_state(cfg)
    train_step, _ = make_steps(state)
    shape = (cfg.batch, cfg.size, cfg.size, cfg.channels)
    real = tf.constant(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))
    t0 = time.perf_counter()
    for _ in range(warmup):
        float(train_step(real, 1.0)["d_loss"])
    warmup_s, steps, t0 = time.perf_counter() - t0, 0, time.perf_counter()
    while True:
        out = train_step(real, 1.0)
        steps += 1
        if steps % cycle == 0 and time.perf_counter() - t0 >= seconds:
            break
    float(out["d_loss"])
    train_s = time.perf_counter() - t0
    row = {"variant": cfg.variant, "size": cfg.size, "channels": cfg.channels, "batch": cfg.batch,
           "filters": cfg.filters, "max_filters": cfg.max_filters, "z_dim": cfg.z_dim, "preset": cfg.preset,
           "warmup_steps": warmup, "warmup_s": warmup_s, "timed_steps": steps, "train_s": train_s,
           "steps_per_s": steps / train_s, "train_img_per_s": steps * cfg.batch / train_s,
           "tf_version": tf.__version__, "tf_intra_op_env": os.environ.get("TF_NUM_INTRAOP_THREADS")}
    if count_flops:
        row["flops"] = step_flops(state, real, cycle)
    return row


def run_config(name: str, a, count_flops: bool, env: dict) -> dict:
    job = {"name": name, "quick": a.quick, "seconds": a.seconds, "warmup": a.warmup, "count_flops": count_flops,
           "matmul_sizes": a.matmul_sizes, "matmul_seconds": a.matmul_seconds}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, __file__, "--worker", json.dumps(job)], capture_output=True, text=True,
                         env=env, cwd=REPO)
    if res.returncode != 0:
        raise SystemExit(f"{name} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return {**json.loads(res.stdout.strip().splitlines()[-1]), "process_wall_s": time.perf_counter() - t0}


def worker(job: dict) -> dict:
    if job["name"] == "ceiling":
        return matmul_ceiling([int(n) for n in job["matmul_sizes"].split(",")], job["matmul_seconds"])
    return bench_variant(job["name"], job["quick"], job["seconds"], job["warmup"], job["count_flops"])


def summarize(samples: list[dict], configs: list[str], orders: list[list[str]]) -> dict:
    ceil = [s["gflop_per_s"] for s in samples if s["config"] == "ceiling"]
    ceiling = {"gflop_per_s": statistics.median(ceil), **spread(ceil)} if ceil else None
    rows = []
    for name in (c for c in configs if c != "ceiling"):
        mine = [s for s in samples if s["config"] == name]
        first, flops = mine[0], next(s["flops"] for s in mine if "flops" in s)
        img = spread([s["train_img_per_s"] for s in mine])
        gflop_s = flops["gflop_live"] * img["median"] / first["batch"]
        rows.append({"config": name, **{k: first[k] for k in ("variant", "size", "channels", "batch", "filters",
                                                             "max_filters", "z_dim", "preset")},
                     "img_per_s": img, "gflop_per_step": flops["gflop_live"],
                     "gflop_per_step_graph": flops["gflop_graph"], "gflop_per_s": gflop_s,
                     "pct_of_ceiling": 100 * gflop_s / ceiling["gflop_per_s"] if ceiling else None})
    return {"ceiling": ceiling, "rows": rows, "orders": orders, "threads": len(os.sched_getaffinity(0)),
            "flop_method": "TF registered flops statistics of the traced step graph (tf.compat.v1.profiler "
                           "float_operation); gflop_per_step counts only ops reaching outputs/side effects",
            "tf_version": sorted({s["tf_version"] for s in samples if "tf_version" in s})}


def print_table(a, summary: dict) -> None:
    c = summary["ceiling"]
    print(f"\n{summary['threads']} threads, {a.rounds} interleaved rounds, >= {a.seconds} s timed per sample")
    if c:
        print(f"matmul ceiling (float32, best of n = {a.matmul_sizes}): {c['median']:.1f} GFLOP/s "
              f"(min {c['min']:.1f}, max {c['max']:.1f})")
    print("| variant | size | ch | batch | img/s median | min | max | spread | GFLOP/step | GFLOP/s | % ceiling |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in summary["rows"]:
        i, pct = r["img_per_s"], r["pct_of_ceiling"]
        print(f"| {r['config']} | {r['size']} | {r['channels']} | {r['batch']} | {i['median']:.1f} | {i['min']:.1f} | "
              f"{i['max']:.1f} | {100 * i['spread']:.1f} % | {r['gflop_per_step']:.3f} | {r['gflop_per_s']:.1f} | "
              + ("-" if pct is None else f"{pct:.1f} %") + " |")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0, help="timed seconds per variant sample (at least)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma list of: " + ",".join(CONFIGS))
    ap.add_argument("--matmul-sizes", default="2048,4096")
    ap.add_argument("--matmul-seconds", type=float, default=3.0, help="seconds per matmul size")
    ap.add_argument("--quick", action="store_true", help="smoke test: 16 px (mnist preset 28), tiny nets, "
                    + " ".join(f"{k} {v}" for k, v in QUICK.items()))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.quick:
        vars(a).update(QUICK)
    a.config_list = [c for c in a.configs.split(",") if c]
    bad = [c for c in a.config_list if c not in CONFIGS]
    if bad or a.rounds < 1 or a.warmup < 1 or a.seconds <= 0:
        ap.error(f"unknown config(s) {bad}" if bad else "--rounds, --warmup must be >= 1, --seconds > 0")
    return a


def main() -> None:
    a = parse_args()
    if a.worker:
        print(json.dumps(worker(json.loads(a.worker))))
        return
    if os.getloadavg()[0] > 0.5:
        print(f"warning: load average {os.getloadavg()[0]:.1f} before the first round (recorded per sample)",
              file=sys.stderr)
    configs, env, samples, orders = a.config_list, thread_env(len(os.sched_getaffinity(0))), [], []
    for r in range(a.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        orders.append(order)
        for pos, name in enumerate(order):
            load = os.getloadavg()[0]
            row = run_config(name, a, count_flops=r == 0, env=env)
            samples.append({"round": r, "position": pos, "config": name, "loadavg_1m_before": load, **row})
            rate = f"{row['gflop_per_s']:.1f} GFLOP/s" if name == "ceiling" else f"{row['train_img_per_s']:.1f} img/s"
            print(f"round {r + 1}/{a.rounds} {name}: {rate}", file=sys.stderr, flush=True)
    summary = summarize(samples, configs, orders)
    print_table(a, summary)
    import record  # bench/record.py -> docs/bench/variants.json

    args = {k: v for k, v in vars(a).items() if k not in ("config_list", "worker")}
    record.write("variants", summary, samples, args, out_dir=REPO / "bench/out" if a.quick else None)


if __name__ == "__main__":
    main()

"""gantool's DCGAN training against PyTorch (eager and torch.compile), in interleaved rounds.

Network, the same in every contender: the reference DCGAN, 64x64x3, z 100, 64 filters (G
3,576,704 / D 2,765,568 parameters; every contender reports its counts and the table prints
them), batch 64, non-saturating BCE, Adam 2e-4 / (0.5, 0.999). One step = one D update (on real
and fake) and one G update.

Contenders, each run in a fresh process of its own in every round (`--contenders` picks them):
  gantool-cli          `gantool train dcgan --data DS --batch B --steps W+S --log-every W --out TMP
                       --json -q [--gantool-extra ...]`, the CLI as users run it, on a dataset made
                       by `gantool prep builtin:digits --channels 3 --size SIZE` (1,797 RGB images).
                       Timed: steady-state steps only, from the run's own metrics.jsonl: images
                       between the log line after warm-up step W and the last one (step W+S),
                       divided by the difference of their `elapsed` (monotonic clock inside the
                       training loop). Start-up, dataset opening, model build, the step-0 sample
                       grid and pfd8, tracing (the first step) and the final checkpoint are outside
                       the window; the data pipeline, per-step host work and the log lines (one
                       every W steps) are inside. The process's wall time and the CLI's own
                       whole-session img/s (tracing included) are kept in the raw samples.
  gantool-cli-reuse    the same with --reuse-fake: one G forward per step, the recipe of the two
                       *-reuse PyTorch rows below (the headline's reuse line compares these).
  gantool-step         the bare compiled step that `gantool train` runs (build_state + make_steps,
                       XLA off), on one fixed batch: W warm-up calls (tracing), then S timed calls;
                       the clock stops after the last loss is on the host.
  gantool-step-xla     the same with --xla (not in the default set: slower on a CPU).
  torch-eager          bench/torch_dcgan.py: W warm-up steps, S timed steps, fixed batch.
  torch-compile        the same with torch.compile(G) and torch.compile(D), dynamic=False
                       (inductor); compilation happens in the warm-up steps.
  torch-eager-reuse    --recipe reuse: pytorch/examples' step, one G forward per step whose fake
  torch-compile-reuse  batch serves both updates (gantool and the two rows above draw fresh z
                       for the G update: two G forwards per step). Compare gantool with these
                       only when --gantool-extra makes gantool reuse too (say so with
                       --gantool-recipe reuse).
Generation (G in inference mode, batches of B, after 2 warm-up calls) is timed by the step and
torch contenders as a secondary column.

Rounds: round r runs every contender once, the order rotated by r, so slow drifts of a shared
machine spread over all of them. Every round's img/s is a raw sample in the JSON. Summary per
contender: median, min, max, spread = (max - min) / median. Headline: gantool-cli median / the
faster of torch-eager and torch-compile medians (the same recipe as gantool); also gantool-step
over that. Threads: every process gets all usable cores (os.sched_getaffinity):
OMP_NUM_THREADS and TF_NUM_INTRAOP_THREADS are set to that count, torch_dcgan.py calls
torch.set_num_threads with it.

PyTorch runs with bench/.torch-venv/bin/python (torch is not a gantool dependency; `make
bench/.torch-venv/.ok` makes it) or --torch-python / $GANTOOL_TORCH_PYTHON.

Run (idle machine; results: stdout table + docs/bench/train.json via bench/record.py):
    .venv/bin/python bench/train_bench.py [--rounds 5]
    .venv/bin/python bench/train_bench.py --quick      (smoke test; writes bench/out/train.json)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CONTENDERS = ["gantool-cli", "gantool-cli-reuse", "gantool-step", "gantool-step-xla", "torch-eager", "torch-compile",
              "torch-eager-reuse", "torch-compile-reuse"]
DEFAULT = [c for c in CONTENDERS if c != "gantool-step-xla"]
FRESH_TORCH, REUSE_TORCH = ("torch-eager", "torch-compile"), ("torch-eager-reuse", "torch-compile-reuse")
SET_BY_BENCH = {"--data", "--steps", "--kimg", "--batch", "--out", "--log-every", "--filters", "--z-dim", "--json",
                "--quiet", "-q", "--resume", "--dry-run"}
QUICK = {"size": 16, "filters": 8, "batch": 8, "steps": 2, "warmup": 1, "gen_steps": 2, "rounds": 1}


def bare_step(size: int, batch: int, filters: int, z_dim: int, steps: int, xla: bool = False):
    """(state, compiled train step, one fixed uint8 batch) of the reference DCGAN: the step
    `gantool train` runs, without the CLI or the data pipeline."""
    import numpy as np

    from gantool.config import TrainConfig
    from gantool.tfquiet import import_tf
    from gantool.train.state import build_state
    from gantool.train.step import make_steps

    tf = import_tf()
    cfg = TrainConfig(variant="dcgan", data="-", run_dir="-", dataset_name="bench", size=size, channels=3,
                      steps=steps, batch=batch, filters=filters, max_filters=512, z_dim=z_dim, xla=xla).validate()
    state = build_state(cfg)
    train_step, _ = make_steps(state)
    real = tf.constant(np.random.default_rng(0).integers(0, 256, (batch, size, size, 3), dtype=np.uint8))
    return state, train_step, real


def bench_gantool(size: int, batch: int, filters: int, z_dim: int, steps: int, warmup: int, gen_steps: int,
                  xla: bool) -> dict:
    """The bare step, in this process (train_bench runs it in a fresh one per round)."""
    import numpy as np

    from gantool.tfquiet import import_tf

    tf = import_tf()
    state, train_step, real = bare_step(size, batch, filters, z_dim, steps + warmup, xla)
    t0 = time.perf_counter()
    for _ in range(warmup):
        float(train_step(real, 1.0)["d_loss"])
    warmup_s = time.perf_counter() - t0
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
    return {"framework": "gantool step" + (" --xla" if xla else ""), "tf_version": tf.__version__,
            "warmup_s": warmup_s, "train_s": train_s, "train_img_per_s": steps * batch / train_s,
            "gen_img_per_s": gen_steps * batch / gen_s, "params_g": count(G), "params_d": count(state.D),
            "tf_intra_op_env": os.environ.get("TF_NUM_INTRAOP_THREADS")}


def thread_env(threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def run(cmd: list[str], env: dict, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed ({res.returncode}): {shlex.join(cmd)}\n{res.stderr[-3000:]}")
    return res, wall


def gantool_exe() -> str:
    exe = Path(sys.executable).parent / "gantool"
    found = str(exe) if exe.exists() else shutil.which("gantool")
    if not found:
        raise SystemExit("no `gantool` entry point next to this Python or on PATH: pip install -e . first")
    return found


def cli_args(a, ds: Path, out: Path, reuse: bool = False) -> list[str]:
    return [gantool_exe(), "train", "dcgan", "--data", str(ds), "--batch", str(a.batch), "--filters", str(a.filters),
            "--z-dim", str(a.z_dim), "--steps", str(a.warmup + a.steps), "--log-every", str(a.warmup),
            "--out", str(out), "--json", "-q", *shlex.split(a.gantool_extra)] + ["--reuse-fake"] * reuse


def trainable_params(config: dict) -> dict:
    """G's and D's trainable parameter counts for a resolved `gantool train` config (what torch's
    parameters() counts; --dry-run's estimate also counts BatchNorm's moving statistics)."""
    import numpy as np

    from gantool.config import TrainConfig
    from gantool.train.state import build_state

    state = build_state(TrainConfig.from_dict(config))
    count = lambda m: int(sum(np.prod(v.shape) for v in m.trainable_variables))  # noqa: E731
    return {"params_g": count(state.G), "params_d": count(state.D)}


def prepare(a, tmp: Path, env: dict) -> tuple[Path, dict]:
    """The dataset the CLI trains on, and the CLI's parameter counts (the config `train --dry-run`
    resolves, --gantool-extra included, built in a fresh process)."""
    ds = tmp / f"digits_rgb_{a.size}"
    run([gantool_exe(), "prep", "builtin:digits", "--size", str(a.size), "--channels", "3", "--out", str(ds),
         "-q", "--json"], env, tmp)
    res, _ = run(cli_args(a, ds, tmp / "dry-run") + ["--dry-run"], env, tmp)
    config = last_json(res.stdout)["config"]
    code = ("import json,sys; sys.path.insert(0, %r); from bench.train_bench import trainable_params; "
            "print(json.dumps(trainable_params(json.loads(sys.argv[1]))))" % str(REPO))
    res, _ = run([sys.executable, "-c", code, json.dumps(config)], env, tmp)
    return ds, last_json(res.stdout)


def steady_rate(metrics: Path, first_step: int, batch: int) -> dict:
    """img/s between the log line at `first_step` and the last log line, from metrics.jsonl."""
    lines = [json.loads(t) for t in metrics.read_text().splitlines() if t.strip()]
    logs = [r for r in lines if "elapsed" in r]
    first = next(r for r in logs if r["step"] == first_step)
    last = logs[-1]
    steps = last["step"] - first["step"]
    if steps < 1:
        raise SystemExit(f"{metrics}: no log line after step {first_step}")
    seconds = last["elapsed"] - first["elapsed"]
    return {"train_img_per_s": steps * batch / seconds, "timed_steps": steps, "train_s": seconds,
            "warmup_s": first["elapsed"], "interval_img_per_s": [r["img_per_s"] for r in logs]}


def run_cli(a, ds: Path, tmp: Path, env: dict, r: int, params: dict, reuse: bool = False) -> dict:
    out = tmp / f"run-{r}"
    res, wall = run(cli_args(a, ds, out, reuse), env, tmp)
    result = last_json(res.stdout)
    row = {"framework": "gantool train (CLI)" + (" --reuse-fake" if reuse else ""), **steady_rate(out / "metrics.jsonl", a.warmup, a.batch),
           "process_wall_s": wall, "session_img_per_s": result["img_per_s"], **params}
    shutil.rmtree(out, ignore_errors=True)
    return row


def run_step(a, env: dict, tmp: Path, xla: bool) -> dict:
    code = ("import json,sys; sys.path.insert(0, %r); from bench.train_bench import bench_gantool; "
            "print(json.dumps(bench_gantool(%d, %d, %d, %d, %d, %d, %d, %r)))"
            % (str(REPO), a.size, a.batch, a.filters, a.z_dim, a.steps, a.warmup, a.gen_steps, xla))
    res, wall = run([sys.executable, "-c", code], env, tmp)
    return {**last_json(res.stdout), "process_wall_s": wall}


def run_torch(a, env: dict, tmp: Path, compile_: bool, recipe: str) -> dict:
    cmd = [a.torch_python, str(REPO / "bench/torch_dcgan.py"), "--json", "--size", str(a.size), "--batch", str(a.batch),
           "--filters", str(a.filters), "--z-dim", str(a.z_dim), "--steps", str(a.steps), "--warmup", str(a.warmup),
           "--gen-steps", str(a.gen_steps), "--recipe", recipe] + (["--compile"] if compile_ else [])
    res, wall = run(cmd, env, tmp)
    return {**last_json(res.stdout), "process_wall_s": wall}


def run_one(name: str, a, ctx: dict, r: int) -> dict:
    env, tmp = ctx["env"], ctx["tmp"]
    if name.startswith("gantool-cli"):
        return run_cli(a, ctx["ds"], tmp, env, r, ctx["cli_params"], reuse=name.endswith("reuse"))
    if name.startswith("gantool-step"):
        return run_step(a, env, tmp, xla=name.endswith("xla"))
    return run_torch(a, env, tmp, compile_="compile" in name, recipe="reuse" if name.endswith("reuse") else "fresh")


def spread(values: list[float]) -> dict:
    med = statistics.median(values)
    return {"median": med, "min": min(values), "max": max(values), "spread": (max(values) - min(values)) / med,
            "n": len(values)}


def faster(stats: dict, names: tuple[str, ...]) -> str | None:
    have = [n for n in names if n in stats]
    return max(have, key=lambda n: stats[n]["median"]) if have else None


def summarize(a, samples: list[dict], contenders: list[str], orders: list[list[str]]) -> dict:
    stats, rows = {}, []
    for name in contenders:
        mine = [s for s in samples if s["contender"] == name]
        stats[name] = spread([s["train_img_per_s"] for s in mine])
        gen = [s["gen_img_per_s"] for s in mine if "gen_img_per_s" in s]
        rows.append({"contender": name, "framework": mine[0]["framework"], **stats[name],
                     "gen_median": statistics.median(gen) if gen else None,
                     "params_g": mine[0]["params_g"], "params_d": mine[0]["params_d"]})
    params = {(r["params_g"], r["params_d"]) for r in rows}
    same_recipe = REUSE_TORCH if a.gantool_recipe == "reuse" else FRESH_TORCH
    best, best_fresh, best_reuse = faster(stats, same_recipe), faster(stats, FRESH_TORCH), faster(stats, REUSE_TORCH)
    ratio = lambda x, y: stats[x]["median"] / stats[y]["median"] if x in stats and y else None  # noqa: E731
    versions = {k: sorted({s[k] for s in samples if k in s}) for k in ("tf_version", "torch_version")}
    return {"rows": rows, "params_equal": len(params) == 1, "threads": a.threads, "orders": orders, **versions,
            "gantool_recipe": a.gantool_recipe, "gantool_extra": a.gantool_extra,
            "headline": {"faster_torch": best, "cli_over_faster_torch": ratio("gantool-cli", best),
                         "step_over_faster_torch": ratio("gantool-step", best_fresh),
                         "faster_torch_reuse": best_reuse,
                         "cli_over_faster_torch_reuse": ratio("gantool-cli", best_reuse),
                         "cli_reuse_over_faster_torch_reuse": ratio("gantool-cli-reuse", best_reuse)}}


def fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(a, summary: dict) -> None:
    print(f"\nDCGAN {a.size}x{a.size}x3, batch {a.batch}, z {a.z_dim}, {a.filters} filters, {a.threads} threads, "
          f"{a.rounds} interleaved rounds of {a.steps} timed steps after {a.warmup} warm-up"
          + (f"; gantool-cli extra: {a.gantool_extra}" if a.gantool_extra else ""))
    print("| contender | train img/s median | min | max | spread | generate img/s | G params | D params |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in summary["rows"]:
        print(f"| {r['contender']} | {r['median']:.1f} | {r['min']:.1f} | {r['max']:.1f} | {100 * r['spread']:.1f} % | "
              f"{fmt(r['gen_median'], '.1f')} | {r['params_g']:,} | {r['params_d']:,} |")
    h = summary["headline"]
    if h["faster_torch"]:
        print(f"headline: gantool CLI / faster PyTorch ({h['faster_torch']}) = {fmt(h['cli_over_faster_torch'], '.3f')}x; "
              f"bare step / faster fresh-recipe PyTorch = {fmt(h['step_over_faster_torch'], '.3f')}x")
    if h["faster_torch_reuse"]:
        print(f"gantool CLI / faster PyTorch reuse recipe ({h['faster_torch_reuse']}) = "
              f"{fmt(h['cli_over_faster_torch_reuse'], '.3f')}x (gantool recipe: {a.gantool_recipe})")
    if h["cli_reuse_over_faster_torch_reuse"]:
        print(f"gantool CLI --reuse-fake / faster PyTorch reuse recipe ({h['faster_torch_reuse']}) = "
              f"{fmt(h['cli_reuse_over_faster_torch_reuse'], '.3f')}x (the same recipe on both sides)")
    if not summary["params_equal"]:
        print("WARNING: parameter counts differ between contenders; the comparison is not like for like")


def network_args(ap: argparse.ArgumentParser) -> None:
    """The reference DCGAN's shape options (also bench/kernels_bench.py's)."""
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--z-dim", type=int, default=100)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    network_args(ap)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per contender and round")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing, compilation)")
    ap.add_argument("--gen-steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--contenders", default=",".join(DEFAULT), help="comma list of: " + ",".join(CONTENDERS))
    ap.add_argument("--gantool-extra", default="", help="more `gantool train` options for gantool-cli, e.g. '--reuse-fake'")
    ap.add_argument("--gantool-recipe", choices=["fresh", "reuse"], default="fresh",
                    help="the recipe gantool-cli runs (with --gantool-extra); picks the headline's PyTorch rows")
    ap.add_argument("--torch-python", default=os.environ.get("GANTOOL_TORCH_PYTHON",
                                                             str(REPO / "bench/.torch-venv/bin/python")))
    ap.add_argument("--quick", action="store_true", help="smoke test: " + " ".join(f"{k} {v}" for k, v in QUICK.items()))
    a = ap.parse_args()
    if a.quick:
        vars(a).update(QUICK)
    a.contender_list = [c for c in a.contenders.split(",") if c]
    bad = [c for c in a.contender_list if c not in CONTENDERS]
    clash = [o for o in shlex.split(a.gantool_extra) if o.split("=")[0] in SET_BY_BENCH]
    if bad or clash or a.rounds < 1 or a.steps < 1 or a.warmup < 1:
        ap.error(f"unknown contender(s) {bad}" if bad else f"--gantool-extra may not set {clash}" if clash
                 else "--rounds, --steps and --warmup must be >= 1")
    a.threads = len(os.sched_getaffinity(0))
    return a


def main() -> None:
    a = parse_args()
    contenders = a.contender_list
    if any(c.startswith("torch") for c in contenders) and not Path(a.torch_python).exists():
        print(f"(no {a.torch_python}: skipping PyTorch; `make bench/.torch-venv/.ok` makes it)", file=sys.stderr)
        contenders = [c for c in contenders if not c.startswith("torch")]
    if os.getloadavg()[0] > 0.5:
        print(f"warning: load average {os.getloadavg()[0]:.1f} before the first round; PyTorch's OpenMP threads "
              "slow down many times over on a busy machine (each sample records the load)", file=sys.stderr)
    samples, orders = [], []
    with tempfile.TemporaryDirectory(prefix="train-bench-") as tmp_name:
        ctx = {"tmp": Path(tmp_name), "env": thread_env(a.threads)}
        if any(c.startswith("gantool-cli") for c in contenders):
            ctx["ds"], ctx["cli_params"] = prepare(a, ctx["tmp"], ctx["env"])
        for r in range(a.rounds):
            order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
            orders.append(order)
            for pos, name in enumerate(order):
                load = os.getloadavg()[0]  # a busy machine's samples are not an idle one's
                row = run_one(name, a, ctx, r)
                samples.append({"round": r, "position": pos, "contender": name, "loadavg_1m_before": load, **row})
                print(f"round {r + 1}/{a.rounds} {name}: {row['train_img_per_s']:.1f} img/s "
                      f"(G {row['params_g']:,} D {row['params_d']:,})", file=sys.stderr, flush=True)
    summary = summarize(a, samples, contenders, orders)
    print_table(a, summary)
    import record  # bench/record.py -> docs/bench/train.json

    args = {k: v for k, v in vars(a).items() if k != "contender_list"}
    record.write("train", summary, samples, args, out_dir=REPO / "bench/out" if a.quick else None)


if __name__ == "__main__":
    main()

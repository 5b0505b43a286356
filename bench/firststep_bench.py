"""From launch to the first finished training step: `gantool train` against PyTorch's equivalent
script (issue 17, item 3), and where gantool's time goes.

Run: .venv/bin/python bench/firststep_bench.py [--rounds 5] [--size 32 --filters 16 --batch 16]

The run: the DCGAN of bench/train_bench.py (no biases, BatchNorm, BCE, Adam) at a tiny size, 3
channels. Cases, each a fresh process in every round; every round runs each case once, the order
rotated by one per round, so a machine that gets busier shifts all of them alike. Wall time is
measured around the process.

- `python`: `python -c pass`, the interpreter alone.
- `tf-import`: TensorFlow and Keras imported as gantool imports them (gantool.tfquiet.import_tf,
  which keeps scikit-learn and matplotlib out of TensorFlow's import), then exit.
- `tf-import+exit_now`: the same, ended by gantool.cli.exit_now (how every gantool command that
  loaded TensorFlow ends): the difference to `tf-import` is Python's interpreter teardown.
- `tf-import+sklearn`: the same after `import sklearn`: what every command paid while Keras'
  scikit-learn wrappers imported scikit-learn (and scipy.stats) with TensorFlow.
- `tf-import+matplotlib`: the same after `import matplotlib.pyplot`: what every command paid while
  Keras' plot_image_gallery imported pyplot with TensorFlow.
- `gantool-cli`: `gantool train dcgan` on a prepped dataset (`prep builtin:digits --channels 3`),
  as a user runs it, killed by its own fault point right after the first step returns
  (GANTOOL_FAULT=train.step@1, SIGKILL): the wall time from launch to that kill. Inside: the CLI,
  TensorFlow's import, config checks, the dataset's manifest, the model build, the data pipeline,
  tracing the step, and the step.
- `gantool-phases`: one process that times, in order, the imports (TensorFlow and Keras the way
  gantool imports them, then gantool's training modules), the build (`build_state`: G, D, the
  EMA copy, both optimizers), the first call of the compiled step (tracing, graph optimisation and
  the step itself, on one fixed batch) and a second call (one step without tracing). Its `total`
  is the sum; the interpreter's own start is the `python` case.
- `torch-eager`, `torch-compile`: `bench/torch_dcgan.py --first-step` in bench/.torch-venv: import
  torch, build, one step (torch.compile's compilation happens inside it), exit. Its data is one
  random batch (no dataset, no pipeline), so it does less than the CLI does before its first step.

The headline: gantool-cli's median over the faster PyTorch's (a ratio > 1 means gantool is
slower to its first step). Writes docs/bench/firststep.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import record  # noqa: E402
from bench.train_bench import bare_step, gantool_exe, spread, thread_env  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TORCH_PY = REPO / "bench/.torch-venv/bin/python"
CASES = ["python", "tf-import", "tf-import+exit_now", "tf-import+sklearn", "tf-import+matplotlib", "gantool-cli",
         "gantool-phases", "torch-eager", "torch-compile"]
# what each tf-import+X case imports first: what TensorFlow's import pulled in before gantool hid it
IMPORTED_FIRST = {"sklearn": "import sklearn; ", "matplotlib": "import matplotlib.pyplot; "}
TF_IMPORT = "from gantool.tfquiet import import_tf; import_tf(); import keras"


def phases(size: int, batch: int, filters: int, z_dim: int) -> dict:
    """Seconds of each phase up to the second step, in this (fresh) process."""
    t = [time.perf_counter()]
    from gantool.tfquiet import import_tf

    import_tf()
    import keras  # noqa: F401

    t.append(time.perf_counter())
    from gantool.config import TrainConfig  # noqa: F401  (what `gantool train` imports before it builds)
    from gantool.train import loop, state, step  # noqa: F401

    t.append(time.perf_counter())
    _, train_step, real = bare_step(size, batch, filters, z_dim, steps=2)
    t.append(time.perf_counter())
    float(train_step(real, 1.0)["d_loss"])
    t.append(time.perf_counter())
    float(train_step(real, 1.0)["d_loss"])
    t.append(time.perf_counter())
    names = ["import_tf_keras_s", "import_gantool_s", "build_s", "first_step_s", "second_step_s"]
    out = {n: b - a for n, a, b in zip(names, t, t[1:])}
    out["total_s"] = t[-1] - t[0]
    return out


def run_case(name: str, a, ds: Path, tmp: Path, env: dict, r: int) -> dict:
    if name == "python":
        cmd, want = [sys.executable, "-c", "pass"], 0
    elif name.startswith("tf-import"):
        code = IMPORTED_FIRST.get(name.rpartition("+")[2], "") + TF_IMPORT
        code += "; from gantool.cli import exit_now; exit_now(0)" if name.endswith("exit_now") else ""
        cmd, want = [sys.executable, "-c", code], 0
    elif name == "gantool-cli":
        cmd = [gantool_exe(), "train", "dcgan", "--data", str(ds), "--batch", str(a.batch), "--filters", str(a.filters),
               "--z-dim", str(a.z_dim), "--steps", "10", "--sample-every", "0", "--out", str(tmp / f"run-{r}"), "-q"]
        env, want = dict(env, GANTOOL_FAULT="train.step@1"), -9
    elif name == "gantool-phases":
        cmd, want = [sys.executable, str(Path(__file__).resolve()), "--phases-worker", *worker_args(a)], 0
    else:
        cmd = [str(TORCH_PY), str(REPO / "bench/torch_dcgan.py"), "--first-step", "--size", str(a.size),
               "--batch", str(a.batch), "--filters", str(a.filters), "--z-dim", str(a.z_dim)]
        cmd += ["--compile"] * (name == "torch-compile")
        want = 0
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    if res.returncode != want:
        raise SystemExit(f"{name}: exit {res.returncode}, expected {want}: {shlex.join(cmd)}\n{res.stderr[-2000:]}")
    row = {"case": name, "round": r, "wall_s": wall}
    if name == "gantool-phases":
        row.update(json.loads(res.stdout.strip().splitlines()[-1]))
    return row


def worker_args(a) -> list[str]:
    return ["--size", str(a.size), "--batch", str(a.batch), "--filters", str(a.filters), "--z-dim", str(a.z_dim)]


def summarise(samples: list[dict], cases: list[str]) -> dict:
    rows = {}
    for name in cases:
        st = spread([s["wall_s"] for s in samples if s["case"] == name])
        rows[name] = {"wall_median_s": st["median"], "wall_min_s": st["min"], "wall_max_s": st["max"],
                      "spread": st["spread"], "runs": st["n"]}
    ph = [s for s in samples if s["case"] == "gantool-phases"]
    if ph:
        keys = [k for k in ph[0] if k.endswith("_s") and k != "wall_s"]
        rows["gantool-phases"]["phases_median_s"] = {k: statistics.median(s[k] for s in ph) for k in keys}
    out = {"rows": rows}
    for pkg in IMPORTED_FIRST:
        if "tf-import" in rows and f"tf-import+{pkg}" in rows:
            out[f"{pkg}_import_s"] = rows[f"tf-import+{pkg}"]["wall_median_s"] - rows["tf-import"]["wall_median_s"]
    if "tf-import" in rows and "tf-import+exit_now" in rows:
        out["teardown_skipped_s"] = rows["tf-import"]["wall_median_s"] - rows["tf-import+exit_now"]["wall_median_s"]
    torch = [c for c in ("torch-eager", "torch-compile") if c in rows]
    if "gantool-cli" in rows and torch:
        best = min(torch, key=lambda c: rows[c]["wall_median_s"])
        out["fastest_torch"] = best
        out["gantool_cli_over_fastest_torch"] = rows["gantool-cli"]["wall_median_s"] / rows[best]["wall_median_s"]
    return out


def print_table(summary: dict) -> None:
    print(f"{'case':18} {'median s':>9} {'min':>7} {'max':>7} {'spread':>7}")
    for name, r in summary["rows"].items():
        print(f"{name:18} {r['wall_median_s']:9.2f} {r['wall_min_s']:7.2f} {r['wall_max_s']:7.2f} {r['spread']:7.1%}")
    ph = summary["rows"].get("gantool-phases", {}).get("phases_median_s")
    if ph:
        print("gantool phases (median s): " + ", ".join(f"{k[:-2]} {v:.2f}" for k, v in ph.items()))
    for pkg in IMPORTED_FIRST:
        if f"{pkg}_import_s" in summary:
            print(f"{pkg}'s import on top of TensorFlow's (median difference): {summary[f'{pkg}_import_s']:.2f} s")
    if "teardown_skipped_s" in summary:
        print(f"interpreter teardown that exit_now skips (median difference): {summary['teardown_skipped_s']:.2f} s")
    if "gantool_cli_over_fastest_torch" in summary:
        print(f"gantool-cli / {summary['fastest_torch']}: {summary['gantool_cli_over_fastest_torch']:.2f}x the time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--filters", type=int, default=16)
    ap.add_argument("--z-dim", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cases", default=",".join(CASES), help="comma list of: " + ",".join(CASES))
    ap.add_argument("--out-dir", default=None, help="write the JSON here instead of docs/bench (smoke runs)")
    ap.add_argument("--phases-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phases_worker:
        print(json.dumps(phases(a.size, a.batch, a.filters, a.z_dim)))
        return
    cases = [c.strip() for c in a.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        ap.error(f"unknown --cases {unknown}; known: {CASES}")
    if any(c.startswith("torch") for c in cases) and not TORCH_PY.exists():
        raise SystemExit(f"{TORCH_PY} missing: `make bench` creates it (PyTorch is not a gantool dependency)")
    env = thread_env(len(os.sched_getaffinity(0)))
    samples = []
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        ds = tmp / f"digits_rgb_{a.size}"
        subprocess.run([gantool_exe(), "prep", "builtin:digits", "--size", str(a.size), "--channels", "3",
                        "--out", str(ds), "-q"], check=True, capture_output=True, env=env, cwd=tmp)
        for r in range(a.rounds):
            order = cases[r % len(cases):] + cases[:r % len(cases)]
            for name in order:
                samples.append(run_case(name, a, ds, tmp, env, r))
                print(f"round {r + 1}/{a.rounds} {name}: {samples[-1]['wall_s']:.2f} s", file=sys.stderr)
    summary = summarise(samples, cases)
    print_table(summary)
    path = record.write("firststep", summary, samples, vars(a), out_dir=a.out_dir)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

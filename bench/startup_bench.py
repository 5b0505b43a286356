"""Start-up of the CLI: `gantool --help` and every command's --help, against a bare `python -c pass`
(issue 17's goal: every --help under 0.3 s).

Run: .venv/bin/python bench/startup_bench.py [--rounds 10] [--warmup 1] [--baseline DIR]
--baseline DIR also times the gantool of another checkout (e.g. `git worktree add /tmp/before
main`), in the same interleaved rounds: a before/after table from one run.
Each case runs in a fresh process; the cases are interleaved (every round runs each once, in an
order rotated by one per round) so that a machine getting busier or quieter shifts all of them
alike. Wall time is measured around the process, CPU time (user + system) from wait4(). gantool
runs through the installed entry point (bin/gantool beside this Python, as a user runs it), with
this checkout first on PYTHONPATH; the JSON names the gantool it imported. The machine should be
idle: these are wall clocks of a few hundred milliseconds. Writes docs/bench/startup.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENTRY = Path(sys.executable).parent / "gantool"
HELPS = [[], ["prep"], ["train"], ["sample"], ["export"], ["eval"], ["eval", "score"], ["eval", "quiz"]]
GOAL_S = 0.3


def cases(baseline: Path | None) -> dict[str, tuple[list[str], Path]]:
    """case name -> (command, the checkout whose gantool it imports)."""
    gantool = [str(ENTRY)] if ENTRY.exists() else [sys.executable, "-m", "gantool.cli"]
    out = {"python -c pass": ([sys.executable, "-c", "pass"], REPO)}
    for words in HELPS:
        name = " ".join(["gantool", *words, "--help"])
        out[name] = ([*gantool, *words, "--help"], REPO)
        if baseline is not None:
            out[f"baseline: {name}"] = ([*gantool, *words, "--help"], baseline)
    return out


def environment(checkout: Path) -> dict:
    env = dict(os.environ, COLUMNS="100")  # the help's width does not depend on the terminal it ran in
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.pop("GANTOOL_DEBUG", None)
    return env


def run_once(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process; its output is discarded, a failure stops the bench."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} exited {proc.returncode}: {err.read().decode(errors='replace').strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime


def summarise(samples: list[dict], names: list[str]) -> dict:
    out = {}
    bare = statistics.median(s["wall_s"] for s in samples if s["case"] == names[0])
    for name in names:
        wall = [s["wall_s"] for s in samples if s["case"] == name]
        cpu = [s["cpu_s"] for s in samples if s["case"] == name]
        out[name] = {"wall_min_s": min(wall), "wall_median_s": statistics.median(wall), "wall_max_s": max(wall),
                     "cpu_min_s": min(cpu), "cpu_median_s": statistics.median(cpu),
                     "over_bare_python_median_s": statistics.median(wall) - bare, "runs": len(wall)}
        if name != names[0]:
            out[name]["under_goal"] = statistics.median(wall) < GOAL_S
    for name in names:
        if f"baseline: {name}" in out:
            before = out[f"baseline: {name}"]["wall_median_s"]
            out[name]["baseline_wall_median_s"] = before
            out[name]["speedup_vs_baseline"] = before / out[name]["wall_median_s"]
    return out


def imported_gantool(env: dict) -> str:
    code = "import gantool, sys; print(gantool.__file__)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=10, help="timed rounds; each runs every case once (default 10)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first: bytecode and page caches (default 1)")
    ap.add_argument("--baseline", type=Path, default=None, help="another checkout whose gantool is timed alongside")
    a = ap.parse_args()
    if a.rounds < 1 or a.warmup < 0:
        ap.error("--rounds must be >= 1 and --warmup >= 0")
    if a.baseline is not None and not (a.baseline / "gantool" / "cli.py").is_file():
        ap.error(f"--baseline: no gantool/cli.py under {a.baseline}")
    baseline = a.baseline.resolve() if a.baseline is not None else None
    table = cases(baseline)
    envs = {checkout: environment(checkout) for checkout in {REPO, baseline} - {None}}
    names = list(table)
    samples = []
    for r in range(a.warmup + a.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            cmd, checkout = table[name]
            wall, cpu = run_once(cmd, envs[checkout])
            if r >= a.warmup:
                samples.append({"round": r - a.warmup, "case": name, "wall_s": wall, "cpu_s": cpu})
    summary = summarise(samples, names)
    print(f"{'case':42} {'wall min':>9} {'median':>8} {'max':>8} {'cpu min':>8} {'- bare':>8}")
    for name, s in summary.items():
        goal = "" if name == names[0] else ("  < 0.3 s" if s["under_goal"] else "  >= 0.3 s")
        print(f"{name:42} {s['wall_min_s']:9.3f} {s['wall_median_s']:8.3f} {s['wall_max_s']:8.3f} "
              f"{s['cpu_min_s']:8.3f} {s['over_bare_python_median_s']:8.3f}{goal}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import record  # bench/record.py -> docs/bench/startup.json

    args = {**vars(a), "commands": {k: " ".join(cmd) for k, (cmd, _) in table.items()},
            "gantool_imported": {str(c): imported_gantool(env) for c, env in envs.items()}, "goal_s": GOAL_S}
    record.write("startup", summary, samples, args)


if __name__ == "__main__":
    main()

"""How long `make test` takes: runs the suite exactly as `make test` does and records the wall time.

The README quotes the suite's time from docs/bench/suite.json, which this script writes (through
bench/record.py) with the machine, the load average, the commit, the pass/fail counts, pytest's
own total and the slowest tests (pytest --durations). Run it on an otherwise idle machine:

    .venv/bin/python bench/suite_bench.py            (about as long as `make test`)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

# what `make test` runs (Makefile's test target), plus the slowest tests' report
SUITE = ["-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "--no-loadscope-reorder"]


def counts(text: str) -> dict:
    """pytest's last line, e.g. '439 passed, 2 failed in 1521.33s (0:25:21)' -> numbers."""
    tail = [line for line in text.splitlines() if re.search(r"\b(passed|failed|error)\b.* in [\d.]+s", line)]
    if not tail:
        return {}
    line = tail[-1]
    out = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", line)}
    found = re.search(r" in ([\d.]+)s", line)
    out["pytest_s"] = float(found.group(1)) if found else None
    out["line"] = line.strip("= ")
    return out


def slowest(text: str, n: int) -> list[dict]:
    rows = re.findall(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)", text, flags=re.M)
    return [{"seconds": float(s), "phase": phase, "test": test} for s, phase, test in rows[:n]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--durations", type=int, default=25, help="how many of the slowest tests to record")
    a = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip())
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, *SUITE, f"--durations={a.durations}"], cwd=REPO, capture_output=True, text=True)
    wall = time.monotonic() - t0
    text = proc.stdout + proc.stderr
    summary = {"wall_s": wall, "wall_min": wall / 60, "exit_code": proc.returncode, "commit": commit,
               "dirty_tree": dirty, "loadavg_1m_before": load_before, "command": "make test (" + " ".join(SUITE[1:]) + ")",
               **counts(text),
               "failures": [line for line in text.splitlines() if line.startswith(("FAILED ", "ERROR "))]}
    print(f"suite: {summary.get('line', '?')}; wall {wall / 60:.1f} min, exit {proc.returncode}")
    import record  # bench/record.py -> docs/bench/suite.json

    record.write("suite", summary, slowest(text, a.durations), vars(a))
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

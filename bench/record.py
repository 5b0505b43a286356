"""One place where every benchmark writes what it measured: docs/bench/NAME.json.

Each file holds the machine (CPU model, usable and total cores, the AVX flags from /proc/cpuinfo),
the load average when it finished, the versions (python, tensorflow, keras, numpy, gantool), the date, the exact command, the
arguments, the raw samples (every timed repetition, not only a summary) and the summary the
script printed. Numbers in README.md and docs/ are quoted from these files only; docs/benchmarks.md
names the script and the JSON behind each table.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "bench"


def machine() -> dict:
    model, flags = "unknown", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = sorted(f for f in value.split() if f.startswith(("avx", "fma", "amx")))
    except OSError:
        pass
    return {"cpu_model": model, "nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(),
            "cpu_flags": flags, "platform": platform.platform(),
            "loadavg": list(os.getloadavg())}  # a busy machine's numbers are not an idle machine's


def versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("tensorflow", "keras", "numpy", "gantool", "torch"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def write(name: str, summary, samples=None, args: dict | None = None, out_dir: Path | None = None) -> Path:
    """Write docs/bench/NAME.json (atomically; `out_dir` instead of docs/bench, e.g. for a smoke
    run that must not replace the recorded numbers) and return its path."""
    doc = {"name": name, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "command": shlex.join([sys.executable, *sys.argv]), "args": args or {}, "machine": machine(),
           "versions": versions(), "samples": samples if samples is not None else [], "summary": summary}
    out = Path(out_dir) if out_dir is not None else OUT
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    print(f"recorded: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", file=sys.stderr)
    return path

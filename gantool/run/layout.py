"""Where things are in a run folder, and where runs and datasets are found.

A run is runs/NNNNN-VARIANT-DATASET (next_run_dir); the dataset it trained on is recorded in
its config.json as given on the command line (run_dataset finds it again)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gantool.errors import UsageError
from gantool.sizes import fits_size

RUN_RE = re.compile(r"^(\d{5})-")
CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
STATE = "state.json"           # in checkpoints/: the last save's step, pfd8 and best
LOSSES = "losses.png"


def is_run(path: str | Path) -> bool:
    return (Path(path) / CONFIG).is_file()


def checkpoints_dir(run: str | Path) -> Path:
    return Path(run) / CHECKPOINTS


def metrics_path(run: str | Path) -> Path:
    return Path(run) / METRICS


def generator_name(ema: bool = False, resolution: int | None = None) -> str:
    """generator.keras, generator_ema.keras, generator-64px.keras (a completed pggan stage)..."""
    return f"generator{'_ema' if ema else ''}{f'-{resolution}px' if resolution else ''}.keras"


def find_dataset(root: str | Path = "data", size: int | None = None, multiples: bool = False) -> Path:
    """The one dataset under `root` (with `size` when given), or a UsageError listing them.
    With `multiples` (pggan downscales on the fly), when no dataset has exactly `size`, the
    ones whose side is size * 2^j qualify, smallest first."""
    from gantool.data.swap import recover_swaps_under  # noqa: PLC0415

    root = Path(root)
    recover_swaps_under(root)  # a dataset a killed prep --overwrite left hidden comes back first
    found = []
    if root.is_dir():
        for m in sorted(root.glob("*/manifest.json")):
            if m.parent.name.startswith("."):  # a prep's hidden staging or old copy, never a dataset
                continue
            try:
                man = json.loads(m.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if man.get("kind") == "gantool.dataset":
                found.append((m.parent, int(man.get("size", 0))))
    match = [p for p, s in found if size is None or s == size]
    if not match and multiples and size:
        sides = sorted({s for _, s in found if s > size and fits_size(s, size)})
        match = [p for p, s in found if sides and s == sides[0]]
    if len(match) == 1:
        return match[0]
    listing = ", ".join(f"{p} ({s} px)" for p, s in found) or "none"
    want = f" with size {size}" if size else ""
    if not match:
        hint = "run `gantool prep` first, or pass --data PATH"
        raise UsageError(f"--data: no dataset{want} under {root}/ (found: {listing}); {hint}")
    raise UsageError(f"--data: {len(match)} datasets{want} under {root}/ ({listing}); pick one with --data PATH"
                     + ("" if size else " or narrow with --size"))


def run_dataset(run_dir: str | Path, data: str) -> Path:
    """The dataset a run trained on: its recorded path as given, else relative to the folder
    holding runs/ (the usual working directory of `gantool train`)."""
    run_dir = Path(run_dir)
    for p in (Path(data), run_dir.parent.parent / data):
        if (p / "manifest.json").is_file():
            return p
    raise UsageError(f"--data: the run's dataset {data} is not here any more; pass --data PATH")


def next_run_dir(root: str | Path, variant: str, dataset: str) -> Path:
    """runs/NNNNN-variant-dataset with the next free number (created later, by the run)."""
    root = Path(root)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", dataset)
    nums = [int(m.group(1)) for p in root.iterdir() if (m := RUN_RE.match(p.name))] if root.is_dir() else []
    return root / f"{(max(nums) + 1) if nums else 0:05d}-{variant}-{safe}"


def create_run_dir(path: str | Path) -> Path:
    """Make a fresh run folder; an existing non-empty one is refused (use --resume)."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"--out: {path} already exists; continue it with `gantool train --resume {path}`")
    path.mkdir(parents=True, exist_ok=True)
    return path

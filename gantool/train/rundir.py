"""Run directories (runs/NNNNN-VARIANT-DATASET) and finding the dataset to train on."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gantool.errors import UsageError

RUN_RE = re.compile(r"^(\d{5})-")


def find_dataset(root: str | Path = "data", size: int | None = None, multiples: bool = False) -> Path:
    """The one dataset under `root` (with `size` when given), or a UsageError listing them.
    With `multiples` (pggan downscales on the fly), when no dataset has exactly `size`, the
    ones whose side is size * 2^j qualify, smallest first."""
    from gantool.prep.pack import recover_swaps_under  # noqa: PLC0415

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
        sides = sorted({s for _, s in found if s > size and s % size == 0 and (s // size) & (s // size - 1) == 0})
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


def write_run_config(cfg) -> None:
    from gantool import __version__  # noqa: PLC0415
    from gantool.atomic import write_json  # noqa: PLC0415

    write_json(Path(cfg.run_dir) / "config.json", run_config_doc(cfg, __version__))


def run_config_doc(cfg, version: str) -> dict:
    return {"schema": 1, "kind": "gantool.run", "gantool_version": version, "config": cfg.to_dict()}


def load_run_config(run_dir: str | Path):
    """The TrainConfig a run was started with (its config.json)."""
    from gantool.atomic import read_json_doc  # noqa: PLC0415
    from gantool.config import RUN_SCHEMA, TrainConfig  # noqa: PLC0415

    path = Path(run_dir) / "config.json"
    doc = read_json_doc(path, "gantool.run", (RUN_SCHEMA,), "gantool run", UsageError)
    settings = doc.get("config")
    if not isinstance(settings, dict):
        raise UsageError(f"{path}: no settings (its \"config\" object is missing)")
    try:
        cfg = TrainConfig.from_dict(settings)
        if not isinstance(cfg.size, int) or not isinstance(cfg.variant, str):
            raise TypeError("size/variant of the wrong type")
        return cfg.validate()
    except UsageError as e:
        raise UsageError(f"{path}: {e.message}") from None
    except (TypeError, ValueError) as e:
        raise UsageError(f"{path}: invalid settings ({e})") from None

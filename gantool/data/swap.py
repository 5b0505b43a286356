"""A dataset folder's atomic publication: staging, the `--overwrite` swap, and its recovery.

A dataset is written into a hidden staging folder next to the output (`.NAME.partial-PID`) and
renamed onto NAME only when complete. `--overwrite` swaps with two renames: the old dataset to
`.NAME.old-PID`, then the staging folder onto NAME. A kill between the two leaves nothing at
NAME, the old dataset in `.NAME.old-PID` and the new complete one in `.NAME.partial-PID`.
`recover_swap(out)` finishes such a swap (the new dataset goes to NAME; else the old one goes
back) and is called by every command that touches a dataset path (prep, `open_dataset`, the
search under ./data) before anything stale is removed.

It lives with the dataset reader (gantool.data), below prep, because readers recover too.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from gantool import faults
from gantool.atomic import fsync_dir, pid_alive


def _dead_scratch(out: Path, kind: str) -> dict[int, Path]:
    """`.NAME.KIND-PID` folders next to `out` whose process is gone, by PID."""
    found: dict[int, Path] = {}
    parent, prefix = out.parent, f".{out.name}.{kind}-"
    if not parent.is_dir():
        return found
    for entry in parent.iterdir():
        if entry.name.startswith(prefix):
            try:
                pid = int(entry.name[len(prefix):])
            except ValueError:
                continue
            if pid != os.getpid() and not pid_alive(pid):
                found[pid] = entry
    return found


def _complete(folder: Path) -> bool:
    """A dataset folder is complete once its manifest (written last) is readable and every shard
    it lists is present (the same test open_dataset starts with; not imported from there, which
    imports this module)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        shards = manifest["shards"]
        return all((folder / s["file"]).is_file() for s in shards)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def recover_swap(out: Path) -> str | None:
    """Finish an `--overwrite` swap that a killed prep left half done: when nothing is at `out`
    and a dead prep's `.NAME.old-PID` exists, its complete `.NAME.partial-PID` is moved onto
    `out` (the swap's intended result), else the old dataset is moved back. Returns what was
    restored, or None. That prep's other folder is removed only once `out` holds a complete
    dataset."""
    out = Path(out)
    if os.path.lexists(out):
        return None
    olds = _dead_scratch(out, "old")
    if not olds:
        return None
    partials = _dead_scratch(out, "partial")
    for pid in sorted(olds, reverse=True):
        for candidate in (partials.get(pid), olds[pid]):
            if candidate is not None and _complete(candidate):
                os.replace(candidate, out)
                fsync_dir(out.parent)
                for left in (partials.get(pid), olds[pid]):  # garbage now that `out` is complete
                    if left is not None and left != candidate:
                        shutil.rmtree(left, ignore_errors=True)
                return str(candidate)
    return None


def recover_swaps_under(root: Path) -> list[str]:
    """`recover_swap` for every dataset under `root` that a killed `--overwrite` left hidden."""
    root = Path(root)
    names = set()
    if root.is_dir():
        for entry in root.iterdir():
            name, sep, pid = entry.name.rpartition(".old-")
            if sep and name.startswith(".") and pid.isdigit():
                names.add(name[1:])
    return [r for n in sorted(names) if (r := recover_swap(root / n))]


def remove_stale_staging(out: Path) -> list[str]:
    """Delete `.NAME.partial-PID` and `.NAME.old-PID` folders left by killed preps of the same
    output, after `recover_swap` had its chance to restore a dataset from them."""
    recover_swap(out)
    removed = []
    stale = list(_dead_scratch(out, "partial").values())
    if out.exists():  # an old copy is only garbage once a dataset is in place
        stale += list(_dead_scratch(out, "old").values())
    for entry in stale:
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(str(entry))
    return removed


def make_staging(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def publish(staging: Path, out: Path) -> None:
    """Move a complete staging folder onto `out` (replacing an old dataset if present)."""
    fsync_dir(staging)
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
        faults.point("pack.swap")
    os.replace(staging, out)
    fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

"""Finding and judging a run's checkpoints without training code.

checkpoints/ holds ckpt-STEP.{index,data-*} (TensorFlow's, with the `checkpoint` index naming
them), state.json (the last save: step, pfd8, best), best/ (the lowest pfd8 so far) and the
generator alone as .keras files (gantool.run.layout.generator_name). gantool.train.checkpoint
writes them; this module only reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gantool.errors import UsageError
from gantool.run.layout import CONFIG, STATE, checkpoints_dir

CKPT_RE = re.compile(r"^ckpt-(\d+)$")
STAGE_RE = re.compile(r"-(\d+)px")


def read_state(folder: str | Path) -> dict:
    """checkpoints/state.json, or {} when there is none (or it is unreadable)."""
    try:
        return json.loads((Path(folder) / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def is_checkpoint_prefix(path: str | Path) -> bool:
    """runs/X/checkpoints/ckpt-N of a run (its .index file exists)."""
    p = Path(path)
    return Path(str(p) + ".index").is_file() and (p.parent.parent / CONFIG).is_file()


def generator_files(run: str | Path) -> list[str]:
    """Names of the generator .keras files a run has, sorted."""
    ck = checkpoints_dir(run)
    return sorted(p.name for p in ck.glob("generator*.keras")) if ck.is_dir() else []


def completed_stages(names: list[str]) -> list[int]:
    """pggan: the resolutions whose generator-RESpx.keras exists."""
    return sorted({int(m.group(1)) for n in names if (m := STAGE_RE.search(n))})


def generator_step(generator: str | Path | None) -> int | None:
    """The training step of a generator file or checkpoint: N of ckpt-N, or the step in
    state.json beside a run's latest generator.keras / generator_ema.keras."""
    if not generator:
        return None
    p = Path(generator)
    if m := CKPT_RE.match(p.name):
        return int(m.group(1))
    if p.name in ("generator.keras", "generator_ema.keras"):
        try:
            return int(read_state(p.parent)["step"])
        except (KeyError, ValueError, TypeError):
            return None
    return None


def refuse_foreign(path, error: Exception) -> None:
    """A checkpoint whose tensors have other shapes than this run's variables, or whose objects
    are not the ones this run builds (an AssertionError from assert_existing_objects_matched),
    comes from another variant, size or width: refuse it (UsageError) instead of treating it as
    torn."""
    text = str(error)
    if isinstance(error, AssertionError):
        detail = "its generator's variables are not the ones this run builds"
    elif "incompatible tensor with shape" in text:
        detail = text.splitlines()[0].replace("Received incompatible tensor", "a tensor").rstrip(".")
    else:
        return
    raise UsageError(f"checkpoint {Path(path).name} does not fit this run ({detail}); it comes from "
                     "another variant, size or --filters setting") from None

"""PGGAN's growth plan: which resolution, phase, batch size and alpha apply at each point.

Everything is a pure function of the number of real images shown so far, which the checkpoint
holds; resuming mid-fade therefore continues with exactly the alpha and batch it left.

Plan: 4x4 trains for one stabilise phase; every later resolution r first fades in (alpha rises
linearly from 0 to 1 over --fade-kimg thousand images) and then stabilises (alpha = 1) for
--stable-kimg. The paper used 800k images per phase on 30k CelebA-HQ images, about 27 epochs;
the default keeps that ratio for your dataset, capped at the paper's 800 kimg and at least 1
kimg: phase kimg = clamp(800 * count / 30000, 1, 800). --kimg sets the total length: the last
stabilise phase runs until then (or training stops early inside an earlier phase).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gantool.errors import UsageError

DEFAULT_BATCHES = {4: 128, 8: 128, 16: 64, 32: 32, 64: 16, 128: 8, 256: 4, 512: 4, 1024: 4}
PAPER_PHASE_KIMG, PAPER_DATASET = 800.0, 30000


def default_phase_kimg(count: int) -> float:
    return float(min(PAPER_PHASE_KIMG, max(1.0, PAPER_PHASE_KIMG * count / PAPER_DATASET)))


# The megapixel report (000) trained DCGAN with 128 images per batch at 192 px down to 6 at
# 1024 px; the sizes between are ours, halving the batch as the pixels per image grow.
MEGAPIXEL = "192:128,256:64,384:32,512:16,768:8,1024:6"


def parse_batch_schedule(text: str, powers_of_two: bool = True) -> dict[int, int]:
    """'4:128,8:64' -> {4: 128, 8: 64}; empty -> {}."""
    out: dict[int, int] = {}
    for part in [p.strip() for p in (text or "").split(",") if p.strip()]:
        try:
            res, batch = (int(x) for x in part.split(":"))
        except ValueError:
            raise UsageError(f"--batch-schedule: {part!r} is not RES:BATCH (e.g. 4:128,8:64)") from None
        if res < 4 or (powers_of_two and res & (res - 1)) or batch < 1:
            what = "a power of two >= 4" if powers_of_two else ">= 4"
            raise UsageError(f"--batch-schedule: {part!r}: RES must be {what} and BATCH >= 1")
        out[res] = batch
    return out


def batch_table(target: int, text: str, default_batch: int | None = None) -> dict[int, int]:
    """Batch for each resolution 4..target: the schedule's entry, else the nearest lower listed
    resolution's, else `default_batch`, else DEFAULT_BATCHES."""
    given = parse_batch_schedule(text)
    table, r = {}, 4
    while r <= target:
        lower = [k for k in given if k <= r]
        if r in given:
            table[r] = given[r]
        elif lower:
            table[r] = given[max(lower)]
        else:
            table[r] = default_batch or DEFAULT_BATCHES.get(r, 4)
        r *= 2
    return table


def fixed_batch(text: str, size: int) -> int:
    """A one-resolution variant's batch from a schedule: the entry for `size`, else the nearest
    lower listed resolution's ('megapixel' = the megapixel report's table)."""
    given = parse_batch_schedule(MEGAPIXEL if text.strip() == "megapixel" else text, powers_of_two=False)
    lower = [r for r in given if r <= size]
    if not lower:
        raise UsageError(f"--batch-schedule: no entry at or below the dataset's {size} px "
                         f"(listed: {', '.join(str(r) for r in sorted(given))})")
    return given[max(lower)]


def format_table(table: dict[int, int]) -> str:
    return ",".join(f"{r}:{b}" for r, b in sorted(table.items()))


@dataclass(frozen=True)
class Phase:
    index: int
    level: int   # 0 = 4x4
    res: int
    fading: bool
    batch: int
    start: int   # images shown when the phase begins (nominal)
    end: int     # images shown when it ends

    @property
    def name(self) -> str:
        return f"{self.res}px {'fade' if self.fading else 'stable'}"


def plan(target: int, fade_kimg: float, stable_kimg: float, batches: dict[int, int],
         total_kimg: float | None = None) -> list[Phase]:
    phases, pos, level, res = [], 0, 0, 4
    fade, stable = int(round(fade_kimg * 1000)), int(round(stable_kimg * 1000))
    while res <= target:
        for fading in ((False,) if level == 0 else (True, False)):
            length = fade if fading else stable
            phases.append(Phase(len(phases), level, res, fading, batches[res], pos, pos + length))
            pos += length
        level, res = level + 1, res * 2
    if total_kimg is not None:
        total = int(round(total_kimg * 1000))
        last = phases[-1]
        phases[-1] = Phase(last.index, last.level, last.res, last.fading, last.batch, last.start, max(last.end, total))
        phases = [Phase(p.index, p.level, p.res, p.fading, p.batch, p.start, min(p.end, total))
                  for p in phases if p.start < total]
    return phases


def locate(phases: list[Phase], images: int) -> Phase | None:
    """The phase that the next step belongs to, or None when training is complete."""
    for p in phases:
        if images < p.end:
            return p
    return None


def alpha_at(phase: Phase, images: int) -> float:
    if not phase.fading:
        return 1.0
    return float(min(1.0, max(0.0, (images - phase.start) / max(1, phase.end - phase.start))))


def total_steps(phases: list[Phase]) -> int:
    """Steps the plan takes: a phase's last step may overshoot its end; the next starts there."""
    images = steps = 0
    for p in phases:
        if images < p.end:
            n = math.ceil((p.end - images) / p.batch)
            steps += n
            images += n * p.batch
    return steps

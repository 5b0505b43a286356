"""A run's metrics.jsonl (training losses, pfd8, eval lines: one JSON object per line) and the
loss plot drawn from it (losses.png in the run, and inline in eval's report.html)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gantool.atomic import write_bytes


class MetricsLog:
    """metrics.jsonl: one JSON object per line. Appends are flushed and fsynced per line; on
    resume, lines from steps after the restored checkpoint (work that was lost) are dropped."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        keep = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn last line from a killed run
            if int(rec.get("step", 0)) <= step:
                keep.append(json.dumps(rec))
        write_bytes(self.path, ("\n".join(keep) + "\n" if keep else "").encode("utf-8"))

    def append(self, rec: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


def losses_png(records: list[dict], title: str = "") -> bytes | None:
    """The loss plot as PNG bytes, or None when the records hold no losses."""
    rows = [r for r in records if "d_loss" in r and "g_loss" in r]
    if not rows:
        return None
    import io  # noqa: PLC0415

    # Figure + the Agg canvas, not pyplot: no backend selection or global figure state, and
    # pyplot's import is not paid (docs/bench/firststep.json: tf-import+matplotlib)
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    steps = [r["step"] for r in rows]
    panels = [("d_loss", "Discriminator loss", "tab:blue"), ("g_loss", "Generator loss", "tab:orange")]
    if all("ada_p" in r for r in rows):  # --augment ada: its probability p beside the losses
        panels.append(("ada_p", "ADA augmentation probability p", "tab:green"))
    fig = Figure(figsize=(5 * len(panels), 3.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels))
    for ax, (key, name, colour) in zip(axes, panels):
        ax.plot(steps, [r[key] for r in rows], color=colour, linewidth=1.2)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()

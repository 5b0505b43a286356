"""What a metric of `gantool eval` is, and the registry it joins (habit 4).

A metric is one file under gantool/eval/ with one `register(Metric(...))` line. It declares what
it needs gathered (NEEDS), computes a dict with a headline "value" from those Inputs, writes one
summary line, and may add files (e.g. nn.png) and a section to report.html. eval/run.py gathers
only what the asked metrics need and names none of them.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gantool.registry import Registry

# what a metric can ask eval to gather
NEEDS = {
    "inception": "Inception features of every generated and real image (needs the network file)",
    "pixels": "uint8 images box-filtered to --msssim-size, up to 10,000 per side",
    "nn": "nearest-neighbour features: Inception when a network file is there, else pixels "
          "(the first --nn-count generated images, every real one)",
}


@dataclass
class Inputs:
    """What one evaluation gathered. Arrays are None when no asked metric needs them."""
    fake_feats: np.ndarray | None = None     # "inception"
    real_feats: np.ndarray | None = None
    fake_ms: np.ndarray | None = None        # "pixels"
    real_ms: np.ndarray | None = None
    fake_nn: np.ndarray | None = None        # "nn"
    real_nn: np.ndarray | None = None
    nn_space: str = ""
    extra: dict = field(default_factory=dict)  # what a metric's compute leaves for its files hook


@dataclass
class Context:
    """What a metric's files hook may use: the report folder, the first generated images (as in
    grid.png), the real source (fetch(indices)) and the evaluation's image side."""
    out: Path
    first: list
    real: Any
    size: int


@dataclass(frozen=True)
class Metric:
    name: str                                     # the --metrics word and the report.json key
    title: str                                    # its row in the table and report.html
    needs: frozenset                              # keys of NEEDS
    compute: Callable[[Inputs, Any], dict]        # (inputs, EvalConfig) -> {"value": ..., ...}
    summary: Callable[[dict], str]                # one human line
    lower_is_better: bool = True
    better: str = ""                              # report.html's note; default from lower_is_better
    log_fields: tuple = ()                        # (result key, metrics.jsonl key) copied into its line
    files: Callable[[dict, Inputs, Context], dict] | None = None   # writes extra files, returns {name: path}
    html: Callable[[dict, dict], str] | None = None                # (result, files) -> a report.html section

    @property
    def needs_net(self) -> bool:
        return "inception" in self.needs

    @property
    def better_note(self) -> str:
        return self.better or ("lower is better" if self.lower_is_better else "higher is better")


METRICS: Registry[Metric] = Registry("metric", "--metrics")


def register(metric: Metric) -> Metric:
    unknown = set(metric.needs) - set(NEEDS)
    if unknown:
        raise ValueError(f"metric {metric.name!r} needs {sorted(unknown)}; known: {', '.join(NEEDS)}")
    return METRICS.register(metric.name)(metric)


def img_tag(path: str | Path | None, alt: str) -> str:
    """A PNG file inline in report.html (base64: the page stays one self-contained file)."""
    if not path or not Path(path).is_file():
        return f"<p><small>({html.escape(alt)}: not available)</small></p>"
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'

"""The metrics `gantool eval --metrics` knows: importing this module registers the built-in ones
(each file registers itself: fid.py, kid.py, prdc.py, msssim.py, nn.py; gantool/eval/metric.py
says what a metric declares). A metric registered from elsewhere is used the same way."""

from __future__ import annotations

from gantool.errors import UsageError
from gantool.eval import fid, kid, msssim, nn, prdc  # noqa: F401  (registration side effect)
from gantool.eval.metric import METRICS, Context, Inputs, Metric, register  # noqa: F401  (this module's API)

DEFAULT_METRICS = "fid,kid,pr,msssim,nn"


def parse_metrics(text: str) -> list[str]:
    names = [m.strip().lower() for m in text.split(",") if m.strip()]
    if not names:
        raise UsageError(f"--metrics: give at least one of {', '.join(METRICS.names())}")
    for m in names:
        METRICS.get(m)
    return list(dict.fromkeys(names))


def summary(name: str, r: dict) -> str:
    """One human line per metric for the terminal table and the HTML report."""
    return METRICS.get(name).summary(r)

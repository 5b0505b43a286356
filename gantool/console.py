"""Everything the user sees: progress, tables, JSON. The only module (with cli.py and
commands/) that knows rich.

Progress goes to stderr, so stdout carries only the result (a table, or with --json one JSON
object). On a TTY it is a rich bar; in a log (not a TTY) it is one plain line about every
10 %, never a redraw.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator


def _fmt_eta(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class PlainProgress:
    """One line per 10 % step (and at the end) on a non-TTY stream."""

    def __init__(self, label: str, unit: str, stream):
        self.label, self.unit, self.stream = label, unit, stream
        self.t0 = time.monotonic()
        self.last_decile = -1

    def __call__(self, done: int, total: int, info: str = "") -> None:
        decile = 10 if total <= 0 else min(10, (10 * done) // total)
        if decile <= self.last_decile or (done == 0 and total > 0 and self.last_decile >= 0):
            return
        self.last_decile = decile
        elapsed = time.monotonic() - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        pct = 100 if total <= 0 else (100 * done) // total
        line = f"{self.label}: {pct:3d}% {done}/{total} {self.unit}  {rate:.1f} {self.unit}/s"
        if 0 < done < total:
            line += f"  eta {_fmt_eta(eta)}"
        if info:
            line += f"  {info}"
        print(line, file=self.stream, flush=True)


@contextmanager
def progress(label: str, unit: str = "img", enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yield a callback(done, total, info="") that shows progress on stderr, or does nothing."""
    stream = sys.stderr
    if not enabled:
        yield lambda done, total, info="": None
        return
    if not stream.isatty():
        yield PlainProgress(label, unit, stream)
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    bar = Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
        console=Console(file=stream), transient=False,
    )
    task = bar.add_task(label, total=None, info="")
    with bar:
        def update(done: int, total: int, info: str = "") -> None:
            bar.update(task, completed=done, total=total, info=info)

        yield update


def dry_run(command: str, config: dict, as_json: bool, **extra) -> None:
    """What every command's --dry-run prints: the resolved config (as one JSON result with --json)."""
    if as_json:
        emit_json({"command": command, "ok": True, "dry_run": True, **extra, "config": config})
    else:
        print(json.dumps(config, indent=2))


def emit_json(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    """A two-column summary on stdout (plain text when stdout is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in rows:
        table.add_row(k, v)
    Console(file=sys.stdout, soft_wrap=True).print(table)


def error_line(message: str) -> None:
    """The one line a failed command prints (stderr)."""
    msg = " ".join(str(message).split())
    print(f"gantool: error: {msg}", file=sys.stderr, flush=True)


"""What training leaves besides checkpoints: TensorBoard events and losses.png. metrics.jsonl and
the loss plot itself belong to the run folder (gantool.run.metrics), which eval reads too."""

from __future__ import annotations

from pathlib import Path

from gantool.atomic import write_bytes
from gantool.run.metrics import losses_png
from gantool.tfquiet import import_tf


class Events:
    """TensorBoard scalars and sample grids under RUN/events."""

    def __init__(self, run_dir: str | Path):
        self.tf = import_tf()
        self.writer = self.tf.summary.create_file_writer(str(Path(run_dir) / "events"))

    def scalars(self, step: int, values: dict) -> None:
        with self.writer.as_default(step=step):
            for k, v in values.items():
                self.tf.summary.scalar(k, v)

    def image(self, step: int, name: str, img_uint8) -> None:
        with self.writer.as_default(step=step):
            self.tf.summary.image(name, img_uint8[None])

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def plot_losses(records: list[dict], path: str | Path, title: str = "") -> bool:
    """losses.png: D and G loss against step, two panels as in the MNIST report's figures.
    Returns False when there is nothing to plot."""
    png = losses_png(records, title)
    if png is None:
        return False
    write_bytes(path, png)
    return True

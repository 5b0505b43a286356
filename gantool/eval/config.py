"""Settings of `gantool eval` and `gantool eval quiz`, validated before anything heavy is
imported (habit: bad input fails in milliseconds, with exit 2)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from gantool.errors import UsageError

def _check_inputs(run: str | None, fake: str | None, data: str | None) -> None:
    """Paths that do not exist are refused before any work (and before slow imports)."""
    if fake is not None and not Path(fake).exists():
        raise UsageError(f"--fake: {fake} is neither a folder of images nor an .npz file (not found)")
    if data is not None and not Path(data).exists():
        raise UsageError(f"--data: no dataset at {data}")
    if fake is not None and data is None:
        raise UsageError("--data: scoring --fake images needs the dataset to compare with (--data PATH)")
    if run is not None and not Path(run).exists() and not Path(run + ".index").is_file():
        raise UsageError(f"no checkpoint at {run}: give a run folder, a generator .keras file or a "
                         "checkpoints/ckpt-N prefix")


@dataclass(frozen=True)
class EvalConfig:
    run: str | None = None           # a run folder, generator .keras file or checkpoint prefix
    fake: str | None = None          # or: a folder of images / an .npz to score
    data: str | None = None          # None: the run's dataset
    metrics: str = "fid,kid,pr,msssim,nn"
    count: int = 10000               # generated images (with --fake: at most this many are read)
    real_count: int | None = None    # None: the whole dataset, up to REAL_MAX
    inception: str | None = None
    pairs: int = 10000               # MS-SSIM pairs
    msssim_size: int = 128           # MS-SSIM at min(this, image side)
    nn_count: int = 1000             # generated images whose nearest training images are measured
    nn_show: int = 8                 # rows of the nearest-neighbour grid
    nn_k: int = 5                    # neighbours shown per row
    pr_k: int = 3
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    seed: int = 0
    zrange: float | None = None
    truncation: float | None = None
    ema: bool | None = None
    resolution: int | None = None
    batch: int = 50
    out: str | None = None
    cache: bool = True

    REAL_MAX = 50000

    def validate(self) -> "EvalConfig":
        from gantool.eval.metrics import parse_metrics  # noqa: PLC0415

        if (self.run is None) == (self.fake is None):
            raise UsageError("give a RUN (folder, generator .keras or checkpoint) or --fake DIR_OR_NPZ, not both"
                             if self.run else "give a RUN to evaluate, or --fake DIR_OR_NPZ with --data DATASET")
        if self.fake is not None and any(v is not None for v in (self.zrange, self.truncation, self.ema, self.resolution)):
            raise UsageError("--zrange/--truncation/--ema/--resolution apply to a RUN, not to --fake images")
        checks = [
            (self.count >= 2, "--count", "must be >= 2", self.count),
            (self.real_count is None or self.real_count >= 2, "--real-count", "must be >= 2", self.real_count),
            (self.pairs >= 1, "--pairs", "must be >= 1", self.pairs),
            (self.msssim_size >= 8, "--msssim-size", "must be >= 8", self.msssim_size),
            (self.nn_count >= 1, "--nn-count", "must be >= 1", self.nn_count),
            (1 <= self.nn_show <= 64, "--nn-show", "must be in [1, 64]", self.nn_show),
            (1 <= self.nn_k <= 20, "--nn-k", "must be in [1, 20]", self.nn_k),
            (self.pr_k >= 1, "--pr-k", "must be >= 1", self.pr_k),
            (self.kid_subsets >= 1, "--kid-subsets", "must be >= 1", self.kid_subsets),
            (self.kid_subset_size >= 2, "--kid-subset-size", "must be >= 2", self.kid_subset_size),
            (self.zrange is None or self.zrange > 0, "--zrange", "must be > 0", self.zrange),
            (self.truncation is None or self.truncation > 0, "--truncation", "must be > 0", self.truncation),
            (self.batch >= 1, "--batch", "must be >= 1", self.batch),
        ]
        for ok, flag, msg, value in checks:
            if not ok:
                raise UsageError(f"{flag}: {msg}, got {value!r}")
        parse_metrics(self.metrics)
        _check_inputs(self.run, self.fake, self.data)
        return self

    def metric_list(self) -> list[str]:
        from gantool.eval.metrics import parse_metrics  # noqa: PLC0415

        return parse_metrics(self.metrics)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class QuizConfig:
    run: str | None = None
    fake: str | None = None
    data: str | None = None
    count: int = 20                  # real and generated images each
    seed: int = 0
    out: str | None = None
    zrange: float | None = None
    truncation: float | None = None
    ema: bool | None = None
    resolution: int | None = None
    display: int = 192               # shown side in px (pixelated upscaling for small images)

    def validate(self) -> "QuizConfig":
        if (self.run is None) == (self.fake is None):
            raise UsageError("give a RUN or --fake DIR_OR_NPZ (with --data DATASET), not both"
                             if self.run else "give a RUN, or --fake DIR_OR_NPZ with --data DATASET")
        if self.fake is not None and any(v is not None for v in (self.zrange, self.truncation, self.ema, self.resolution)):
            raise UsageError("--zrange/--truncation/--ema/--resolution apply to a RUN, not to --fake images")
        for ok, flag, msg, value in (
            (1 <= self.count <= 500, "--count", "must be in [1, 500]", self.count),
            (32 <= self.display <= 1024, "--display", "must be in [32, 1024]", self.display),
            (self.zrange is None or self.zrange > 0, "--zrange", "must be > 0", self.zrange),
            (self.truncation is None or self.truncation > 0, "--truncation", "must be > 0", self.truncation),
        ):
            if not ok:
                raise UsageError(f"{flag}: {msg}, got {value!r}")
        _check_inputs(self.run, self.fake, self.data)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

"""Frozen per-command configs. validate() names the offending flag (habit 2).

A config is built from the command's options, validated, written next to the output
before any work starts, and printed by --dry-run.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

from gantool.errors import UsageError
from gantool.latent import LATENTS
from gantool.models.base import PRECISIONS
from gantool.models.stylegan2_regs import PL_WEIGHT, STYLE_MIXING
from gantool.sizes import fits_size
from gantool.train.distribute import STRATEGIES
BUILTIN_SOURCES = ("builtin:digits",)
CROP_MODES = ("face", "center", "none")
FACE_MODES = ("largest", "all")
PAD_MODES = ("reflect", "edge", "black")
SHARD_BYTES = 256 * 1024 * 1024  # target shard size when --shard-size is not given


@dataclass(frozen=True)
class PrepConfig:
    src: str
    out: str
    size: int
    channels: int
    crop: str
    min_confidence: float = 0.95
    min_face: int = 40
    faces: str = "largest"
    margin: float = 0.25
    align: bool = False
    pad: str = "reflect"
    detect_size: int = 640
    batch: int = 1
    workers: int = 1
    shard_size: int | None = None  # None: about 256 MB per shard (resolved by resolved())
    overwrite: bool = False

    @property
    def is_builtin(self) -> bool:
        return self.src.startswith("builtin:")

    def validate(self) -> "PrepConfig":
        if self.is_builtin:
            if self.src not in BUILTIN_SOURCES:
                raise UsageError(
                    f"SRC: unknown built-in dataset {self.src!r}; known: {', '.join(BUILTIN_SOURCES)}"
                )
        else:
            p = Path(self.src)
            if not p.exists():
                raise UsageError(f"SRC: folder not found: {self.src}")
            if not p.is_dir():
                raise UsageError(f"SRC: not a folder: {self.src} (give a folder of photos or builtin:digits)")
        if self.size < 8:
            raise UsageError(f"--size: must be >= 8, got {self.size}")
        if self.size > 8192:
            raise UsageError(f"--size: must be <= 8192, got {self.size}")
        if self.channels not in (1, 3):
            raise UsageError(f"--channels: must be 1 or 3, got {self.channels}")
        if self.crop not in CROP_MODES:
            raise UsageError(f"--crop: must be one of {', '.join(CROP_MODES)}, got {self.crop!r}")
        if self.is_builtin and self.crop == "face":
            raise UsageError("--crop face: built-in digits have no faces; use --crop none")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise UsageError(f"--min-confidence: must be in [0, 1], got {self.min_confidence}")
        if self.min_face < 1:
            raise UsageError(f"--min-face: must be >= 1 px, got {self.min_face}")
        if self.faces not in FACE_MODES:
            raise UsageError(f"--faces: must be one of {', '.join(FACE_MODES)}, got {self.faces!r}")
        if not 0.0 <= self.margin <= 4.0:
            raise UsageError(f"--margin: must be in [0, 4] (fraction of the face size per side), got {self.margin}")
        if self.pad not in PAD_MODES:
            raise UsageError(f"--pad: must be one of {', '.join(PAD_MODES)}, got {self.pad!r}")
        if self.detect_size < 64:
            raise UsageError(f"--detect-size: must be >= 64, got {self.detect_size}")
        if self.batch < 1:
            raise UsageError(f"--batch: must be >= 1, got {self.batch}")
        if self.workers < 1:
            raise UsageError(f"--workers: must be >= 1, got {self.workers}")
        if self.shard_size is not None and self.shard_size < 1:
            raise UsageError(f"--shard-size: must be >= 1, got {self.shard_size}")
        out = Path(self.out)
        from gantool.data.swap import recover_swap  # noqa: PLC0415

        recover_swap(out)  # a killed --overwrite's dataset is back at --out before it is judged
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out: exists and is not a folder: {self.out}")
        if out.exists() and any(out.iterdir()) and not self.overwrite:
            raise UsageError(f"--out: {self.out} already exists; pass --overwrite to replace it")
        if not self.is_builtin:
            src = Path(self.src).resolve()
            o = out.resolve()
            if o == src or src in o.parents:
                raise UsageError("--out: must not be inside SRC (the output would be scanned as input)")
        return self

    def resolved(self) -> "PrepConfig":
        """Validate, then fill the settings whose default depends on others."""
        self.validate()
        if self.shard_size is None:
            shard = max(1, SHARD_BYTES // (self.size * self.size * self.channels))
            return dataclasses.replace(self, shard_size=shard)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def default_name(src: str) -> str:
    if src.startswith("builtin:"):
        return src.split(":", 1)[1]
    name = Path(src).resolve().name or "photos"
    return "".join(c if (c.isalnum() or c in "-_.") else "_" for c in name)


# ---------------------------------------------------------------- train

AUGMENTS = ("flip", "translate", "color")  # --augment diff's policy (the stored `augment` is the policy string)
ADA = "ada"  # the stored `augment` of --augment ada (gantool.train.ada)
RUN_SCHEMA = 1

# Defaults for options left unset; a variant's ModelSpec.defaults override these.
TRAIN_DEFAULTS = {
    "batch": 64, "filters": 64, "max_filters": 512, "kernel": 4, "z_dim": 100, "latent": "uniform",
    "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "loss": "bce", "spectral_norm": False,
    "r1": 0.0, "gp_weight": 10.0, "drift": 0.001, "instance_noise": 0.0, "g_noise": 0.0, "augment": "",
    "ema": 0.0, "alt_every": 0, "xla": False, "steps": 10000, "sample_every": 500, "ckpt_every": 1000,
    "log_every": 50, "keep": 3, "grid": 8, "preset": None, "grad_accum": 1, "precision": "float32",
    "ada_target": 0.6, "ada_kimg": 500.0, "reuse_fake": False, "d_bias": False, "out_gain": 1.0,
}


@dataclass(frozen=True)
class TrainConfig:
    variant: str
    data: str
    run_dir: str
    dataset_name: str
    size: int
    channels: int
    steps: int
    seed: int = 0
    batch: int = 64
    filters: int = 64
    max_filters: int = 512
    kernel: int = 4
    z_dim: int = 100
    latent: str = "uniform"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "bce"
    spectral_norm: bool = False
    r1: float = 0.0
    gp_weight: float = 10.0
    drift: float = 0.001
    instance_noise: float = 0.0
    g_noise: float = 0.0
    augment: str = ""
    ema: float = 0.0
    alt_every: int = 0
    xla: bool = False
    sample_every: int = 500
    ckpt_every: int = 1000
    log_every: int = 50
    keep: int = 3
    grid: int = 8
    preset: str | None = None
    data_size: int | None = None        # dataset side when it differs from size (pggan downscales)
    fade_kimg: float | None = None      # pggan: images per fade-in phase, thousands
    stable_kimg: float | None = None    # pggan: images per stabilise phase, thousands
    batch_schedule: str = ""            # pggan: resolved RES:BATCH table
    total_kimg: float | None = None     # pggan: total length (None: the whole growth plan)
    grad_accum: int = 1                 # micro-batches per step (gradients averaged, applied once)
    precision: str = "float32"          # Keras dtype policy: float32, mixed_float16, mixed_bfloat16
    strategy: str = "default"           # tf.distribute: default, mirrored, multiworker
    ada_target: float = 0.6             # --augment ada: the E[sign(D(real))] that p is steered to
    ada_kimg: float = 500.0             # --augment ada: thousand images for p to move by 1
    subset: int | None = None           # train on a seeded subset of this many images of the dataset
    map_layers: int = 8                 # stylegan2: mapping network depth
    ema_kimg: float | None = None       # stylegan2: G EMA half-life in thousand images (None: batch*10/32)
    style_mixing: float = STYLE_MIXING  # stylegan2: probability that a fake's styles switch to a second w
    pl_weight: float = PL_WEIGHT        # stylegan2: path length regularisation weight (0 = off)
    reuse_fake: bool = False            # one G forward per step: G's update scores the D update's fakes
    d_bias: bool = False                # dcgan/hdcgan: a bias on D's first convolution
    out_gain: float = 1.0               # dcgan/hdcgan: G's output is clip(out_gain * tanh, -1, 1)

    def validate(self) -> "TrainConfig":
        from gantool.models import spec_of  # noqa: PLC0415  (registers the variants, no TF)
        from gantool.models.losses import LOSSES  # noqa: PLC0415

        spec = spec_of(self)
        checks = [
            (self.steps >= 1, "--steps", "must be >= 1 (or give --kimg > 0)"),
            (self.batch >= 1, "--batch", "must be >= 1"),
            (self.filters >= 1, "--filters", "must be >= 1"),
            (self.max_filters >= self.filters, "--max-filters", "must be >= --filters"),
            (self.kernel in (3, 4, 5), "--kernel", "must be 3, 4 or 5"),
            (self.z_dim >= 1, "--z-dim", "must be >= 1"),
            (self.latent in LATENTS, "--latent", f"must be one of {', '.join(LATENTS)}"),
            (self.lr_g > 0, "--lr-g", "must be > 0"),
            (self.lr_d > 0, "--lr-d", "must be > 0"),
            (0 <= self.beta1 < 1, "--beta1", "must be in [0, 1)"),
            (0 <= self.beta2 < 1, "--beta2", "must be in [0, 1)"),
            (self.loss in LOSSES, "--loss", f"must be one of {', '.join(LOSSES)}"),
            (self.r1 >= 0, "--r1", "must be >= 0"),
            (self.gp_weight >= 0, "--gp-weight", "must be >= 0"),
            (self.instance_noise >= 0, "--instance-noise", "must be >= 0"),
            (self.g_noise >= 0, "--g-noise", "must be >= 0"),
            (self.augment == ADA or all(a in AUGMENTS for a in self.augment.split(",") if a), "--augment-policy",
             f"must be a comma list of {', '.join(AUGMENTS)}"),
            (0 <= self.ema < 1, "--ema", "must be in [0, 1) (0 = off)"),
            (self.alt_every >= 0, "--alt-every", "must be >= 0 (0 = off)"),
            (self.sample_every >= 0, "--sample-every", "must be >= 0 (0 = only at the end)"),
            (self.ckpt_every >= 1, "--ckpt-every", "must be >= 1"),
            (self.log_every >= 1, "--log-every", "must be >= 1"),
            (self.keep >= 1, "--keep", "must be >= 1"),
            (1 <= self.grid <= 32, "--grid", "must be in [1, 32]"),
            (self.grad_accum >= 1, "--grad-accum", "must be >= 1"),
            (self.precision in PRECISIONS, "--precision", f"must be one of {', '.join(PRECISIONS)}"),
            (self.strategy in STRATEGIES, "--strategy", f"must be one of {', '.join(STRATEGIES)}"),
            (0 < self.ada_target < 1, "--ada-target", "must be in (0, 1)"),
            (self.ada_kimg > 0, "--ada-kimg", "must be > 0"),
            (self.subset is None or self.subset >= 1, "--subset", "must be >= 1"),
            (self.map_layers >= 1, "--map-layers", "must be >= 1"),
            (self.ema_kimg is None or self.ema_kimg > 0, "--ema-kimg", "must be > 0"),
            (0 <= self.style_mixing <= 1, "--style-mixing", "must be in [0, 1]"),
            (self.pl_weight >= 0, "--pl-weight", "must be >= 0"),
            (1 <= self.out_gain <= 2, "--out-gain", "must be in [1, 2] (1 = plain tanh)"),
            (self.channels in (1, 3), "--data", f"dataset has {self.channels} channels; gantool trains on 1 or 3"),
        ]
        for ok, flag, msg in checks:
            if not ok:
                value = getattr(self, flag.lstrip("-").replace("-", "_").replace("augment_policy", "augment"), "")
                raise UsageError(f"{flag}: {msg}, got {value!r}" if flag != "--data" else f"{flag}: {msg}")
        spec.check(self.size, self)
        self._check_sizes(spec)
        self._check_reuse(spec)
        return self

    def _check_reuse(self, spec) -> None:
        """--reuse-fake (gantool.train.reuse): the combinations its one G forward cannot honour."""
        if not self.reuse_fake:
            return
        spec.refuse_unused({"reuse_fake": True})  # a config built without the CLI (which refuses it first)
        if self.grad_accum > 1:
            raise UsageError(f"--reuse-fake: not with --grad-accum {self.grad_accum} (each micro-batch would keep "
                             "its G forward alive for the G update); use --grad-accum 1 or drop --reuse-fake")
        if self.alt_every:
            raise UsageError("--reuse-fake: not with --alt-every (its extra G update runs before the D update, "
                             "so there is no D-update batch to reuse); drop one of them")

    def _check_sizes(self, spec) -> None:
        """The batch splits into --grad-accum micro-batches; the model size fits the dataset's."""
        for res, b in self.batches().items():
            if b % self.grad_accum:
                where = f" (the batch at {res} px)" if self.batch_schedule else ""
                raise UsageError(f"--grad-accum {self.grad_accum}: must divide the batch {b}{where}")
        data_size = self.data_size or self.size
        if spec.progressive:
            if not fits_size(data_size, self.size):
                raise UsageError(f"--target: {self.size} px cannot be box-filtered from the dataset's {data_size} px "
                                 "(the dataset side must be the target times a power of two)")
            for flag, v in (("--fade-kimg", self.fade_kimg), ("--stable-kimg", self.stable_kimg)):
                if v is None or v <= 0:
                    raise UsageError(f"{flag}: must be > 0, got {v}")
        elif data_size != self.size:
            raise UsageError(f"--target/--size: {self.variant} trains at the dataset's size ({data_size} px)")

    def batches(self) -> dict[int, int]:
        """Batch per trained resolution: pggan's schedule, else {size: batch}."""
        if self.batch_schedule:
            from gantool.train.progressive import parse_batch_schedule  # noqa: PLC0415

            return parse_batch_schedule(self.batch_schedule)
        return {self.size: self.batch}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UsageError(f"run config has settings this gantool does not know: {', '.join(unknown)}")
        return cls(**d)


# ---------------------------------------------------------------- sample

@dataclass(frozen=True)
class SampleConfig:
    source: str
    out: str | None = None          # None: resolved after the model is loaded (under the run)
    count: int = 64
    seed: int = 0
    seeds: str | None = None        # "0-35,42": one image per seed (overrides count/seed)
    zrange: float | None = None     # uniform-z models: U(-r, r)
    truncation: float | None = None  # normal-z models: |z| <= T
    batch: int | None = None        # None: gantool.images.generation_batch(resolution)
    ema: bool | None = None         # None: the EMA generator when the run has one
    resolution: int | None = None   # pggan: a completed stage
    npz: str | None = None
    interpolate: int | None = None  # latent walk through K points
    frames: int = 12                # frames between two walk points
    fps: int = 12
    psi: float | None = None        # models with a mapping network: truncation toward the mean w
    mix: str | None = None          # style-mixing grid: the rows' seeds (coarse styles) ...
    mix_cols: str | None = None     # ... and the columns' seeds (the other styles)
    mix_cutoff: int | None = None   # ws taken from the row (None: the coarse ones, gantool.run.styles)

    MIX_MAX = 32  # seeds per side of the mixing grid

    def validate(self) -> "SampleConfig":
        checks = [
            (self.count >= 1, "--count", "must be >= 1", self.count),
            (self.zrange is None or self.zrange > 0, "--zrange", "must be > 0", self.zrange),
            (self.truncation is None or self.truncation > 0, "--truncation", "must be > 0", self.truncation),
            (not (self.zrange is not None and self.truncation is not None), "--zrange/--truncation",
             "give one of them (--zrange for uniform-z models, --truncation for normal-z ones)", None),
            (self.batch is None or self.batch >= 1, "--batch", "must be >= 1", self.batch),
            (self.interpolate is None or self.interpolate >= 2, "--interpolate", "needs >= 2 points", self.interpolate),
            (self.frames >= 1, "--frames", "must be >= 1", self.frames),
            (1 <= self.fps <= 120, "--fps", "must be in [1, 120]", self.fps),
            (self.resolution is None or self.resolution >= 4, "--resolution", "must be >= 4", self.resolution),
            (self.psi is None or math.isfinite(self.psi), "--psi", "must be a finite number", self.psi),
            (self.mix_cols is None or self.mix is not None, "--mix-cols", "needs --mix (the rows' seeds)", None),
            (self.mix is None or self.mix_cols is not None, "--mix", "needs --mix-cols (the columns' seeds)", None),
            (self.mix_cutoff is None or self.mix is not None, "--mix-cutoff", "needs --mix and --mix-cols", None),
            (self.mix_cutoff is None or self.mix_cutoff >= 0, "--mix-cutoff", "must be >= 0", self.mix_cutoff),
        ]
        for ok, flag, msg, value in checks:
            if not ok:
                raise UsageError(f"{flag}: {msg}" + (f", got {value!r}" if value is not None else ""))
        from gantool.sample import parse_seeds  # noqa: PLC0415

        if self.seeds is not None:
            parse_seeds(self.seeds)
        for flag, text in (("--mix", self.mix), ("--mix-cols", self.mix_cols)):
            if text is not None and len(parse_seeds(text, flag)) > self.MIX_MAX:
                raise UsageError(f"{flag}: at most {self.MIX_MAX} seeds per side of the mixing grid")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

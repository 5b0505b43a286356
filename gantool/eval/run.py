"""`gantool eval`: stream generated and real images once, gather what the asked metrics need
(gantool/eval/metric.py NEEDS: Inception features, pixels at the MS-SSIM size, nearest-neighbour
features), compute the metrics, and write report.json, report.html, grid.png, each metric's own
files and one metrics.jsonl line per metric. This module names no metric: each is one file that
registers itself (gantool/eval/metrics.py lists the built-in ones).

Real-data Inception features are cached (eval/cache.py), keyed by the dataset's content and the
settings, so scoring many checkpoints against one dataset pays for the real pass once.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from gantool.data.shards import open_dataset
from gantool.errors import UsageError
from gantool.eval import features, sources
from gantool.eval.cache import FeatureCache, net_digest
from gantool.eval.inception_check import describe_network
from gantool.eval.metrics import METRICS, Context, Inputs
from gantool.eval.nn import pixel_features
from gantool.eval.report import write_reports
from gantool.images import downscale_area, grid, write_png
from gantool.run.config import load_run_config
from gantool.run.generator import check_latent_options, load_generator
from gantool.run.layout import find_dataset, run_dataset
from gantool.sizes import fits_size

GRID_MAX = 64
MS_MAX = 10000   # images kept per side for MS-SSIM pairs (10,000 at 128 px RGB: 490 MB)


@dataclass
class Setup:
    """The two sides of an evaluation, conformed to one size and channel count."""
    fake: object                 # a source from eval/sources.py
    real: sources.RealSource
    dataset: Path
    run_dir: Path | None
    fake_desc: dict
    notes: list[str] = field(default_factory=list)


def open_real(data: Path, size: int, multiples: bool):
    if not (data / "manifest.json").is_file():
        if not data.is_dir():
            raise UsageError(f"--data: no dataset at {data}")
        data = find_dataset(data, size, multiples=multiples)
    return open_dataset(data)


def setup(cfg, fake_limit: int, real_count: int | None) -> Setup:
    """Open both sides: RUN (generator) or --fake, and --data (default: the run's dataset)."""
    notes: list[str] = []
    if cfg.run is not None:
        gen = load_generator(cfg.run, cfg.resolution, cfg.ema)
        check_latent_options(cfg, gen)
        fake = sources.GeneratorSource(gen, fake_limit, cfg.seed, cfg.zrange, cfg.truncation)
        run_dir = Path(gen.run_dir) if gen.run_dir else None
        if cfg.data:
            data = Path(cfg.data)
        elif run_dir is not None:
            data = run_dataset(run_dir, load_run_config(run_dir).data)
        else:
            raise UsageError(f"--data: {cfg.run} is a generator file outside a run; pass --data DATASET")
        ds = open_real(data, fake.size, multiples=True)
        if ds.channels != fake.channels:
            raise UsageError(f"--data: the generator makes {fake.channels}-channel images, the dataset holds {ds.channels}")
        desc = {"kind": "generator", "generator": gen.file, "run": gen.run_dir, "ema": gen.ema, "latent": gen.latent,
                "seed": cfg.seed, "zrange": cfg.zrange, "truncation": cfg.truncation, "resolution": gen.resolution}
        size = fake.size
    else:
        fake = sources.open_fake(cfg.fake, fake_limit)
        run_dir = None
        if not cfg.data:
            raise UsageError("--data: scoring --fake images needs the dataset to compare with (--data PATH)")
        ds = open_real(Path(cfg.data), fake.size, multiples=True)
        size = fake.size
        if not fits_size(ds.size, size):
            size = ds.size
        if (size, ds.channels) != (fake.size, fake.channels):
            notes.append(f"--fake images ({fake.native} px, {fake.channels} ch) were resized to {size} px, {ds.channels} ch "
                         "to match the dataset")
            fake.target = (size, ds.channels)
            fake.size, fake.channels = size, ds.channels
        desc = {"kind": "folder" if Path(cfg.fake).is_dir() else "npz", "path": str(cfg.fake), "native_size": fake.native}
    real = sources.RealSource(ds, real_count, cfg.seed, size)
    if ds.size != size:
        notes.append(f"dataset images ({ds.size} px) were box-filtered to {size} px")
    return Setup(fake, real, ds.path, run_dir, desc, notes)


@dataclass
class EvalResult:
    out: str
    metrics: dict
    network: dict | None
    source: dict
    data: dict
    files: dict
    notes: list
    seconds: float

    def to_dict(self) -> dict:
        return {"out": self.out, "metrics": self.metrics, "network": self.network, "source": self.source,
                "data": self.data, "files": self.files, "notes": self.notes, "seconds": round(self.seconds, 3)}


def _default_out(cfg, st: Setup) -> Path:
    if st.run_dir is not None:
        gen = Path(st.fake_desc["generator"]).name.replace(".keras", "")
        tag = f"{gen}-n{cfg.count}-seed{cfg.seed}"
        if cfg.zrange is not None:
            tag += f"-z{cfg.zrange:g}"
        if cfg.truncation is not None:
            tag += f"-t{cfg.truncation:g}"
        return st.run_dir / "eval" / tag
    fake = Path(cfg.fake)
    return fake.parent / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', fake.stem)}-eval"


@dataclass
class Want:
    """What the asked metrics need gathered (gantool/eval/metric.py NEEDS)."""
    net: bool     # Inception features (for "inception", and for "nn" when a network is there)
    pixels: bool
    nn: bool

    @classmethod
    def of(cls, names: list[str], net) -> "Want":
        needs = set().union(*(METRICS.get(m).needs for m in names))
        return cls(net=net is not None and bool(needs & {"inception", "nn"}), pixels="pixels" in needs,
                   nn="nn" in needs)


def _load_net(cfg, names: list[str]):
    """The network, or None. It is required when a metric needs Inception features; a metric
    that needs nn features uses it when a file is there and falls back to pixels otherwise."""
    needs = set().union(*(METRICS.get(m).needs for m in names))
    if "inception" in needs:
        return features.load_feature_net(cfg.inception)
    if "nn" in needs:
        try:
            features.resolve_path(cfg.inception)
        except UsageError:
            if cfg.inception:
                raise
            return None
        return features.load_feature_net(cfg.inception)
    return None


def _real_cache(cfg, st: Setup, net, want: Want):
    """(cache, key, cached real Inception features or None)."""
    cache = FeatureCache.default() if cfg.cache else None
    key = FeatureCache.key(st.real, net) if (want.net and cache) else None
    return cache, key, (cache.get(key, st.real.count) if key else None)


def _gather_real(cfg, st: Setup, net, want: Want, x: Inputs, progress, total: int, cache, key) -> int:
    """The real side's one streamed pass (what the cache did not already hold); returns the
    number of images read."""
    ms_n = min(st.real.count, cfg.count, MS_MAX)
    ms_pick = np.sort(np.random.default_rng([cfg.seed, 11]).permutation(st.real.count)[:ms_n]) if want.pixels else None
    feats, ms, pix = [], [], []
    pos = 0
    for b in st.real.batches(cfg.batch):
        if want.net and x.real_feats is None:
            feats.append(net.extract(b, cfg.batch).astype(np.float32))
        if want.pixels:
            sel = ms_pick[(ms_pick >= pos) & (ms_pick < pos + len(b))] - pos
            if len(sel):
                ms.append(_shrink(b[sel], min(cfg.msssim_size, st.real.size)))
        if want.nn and net is None:
            pix.append(pixel_features(b))
        pos += len(b)
        progress(pos, total, "real")
    if feats:
        x.real_feats = np.concatenate(feats)
        if cache and key:
            cache.put(key, x.real_feats, {"dataset": str(st.dataset), "network": net.name, "count": st.real.count})
    if ms:
        x.real_ms = np.concatenate(ms)
    if pix:
        x.real_nn = np.concatenate(pix)
    return pos


def _gather_fake(cfg, st: Setup, net, want: Want, x: Inputs, progress, done: int, total: int) -> list:
    """The generated side, one streamed pass. Returns the first GRID_MAX images."""
    feats, ms, nn_feats, first = [], [], [], []
    ms_side = min(cfg.msssim_size, st.real.size)
    for b in st.fake.batches(cfg.batch):
        f = net.extract(b, cfg.batch).astype(np.float32) if want.net else None
        if f is not None:
            feats.append(f)
        have_ms = sum(len(a) for a in ms)
        if want.pixels and have_ms < MS_MAX:
            ms.append(_shrink(b[:MS_MAX - have_ms], ms_side))
        have_nn = sum(len(a) for a in nn_feats)
        if want.nn and have_nn < cfg.nn_count:
            take = b[:cfg.nn_count - have_nn]
            nn_feats.append(f[:len(take)] if net is not None else pixel_features(take))
        if len(first) < GRID_MAX:
            first.extend(b[:GRID_MAX - len(first)])
        done += len(b)
        progress(done, total, "generated")
    if feats:
        x.fake_feats = np.concatenate(feats)
    if ms:
        x.fake_ms = np.concatenate(ms)
    if nn_feats:
        x.fake_nn = np.concatenate(nn_feats)
    return first


def _compute(cfg, names: list[str], x: Inputs) -> dict:
    metrics: dict = {}
    for name in names:
        m = METRICS.get(name)
        try:
            metrics[name] = m.compute(x, cfg)
        except ValueError as e:  # too few images for this metric: say so, keep the others
            metrics[name] = {"value": None, "error": str(e)}
        if metrics[name].get("value") is not None:
            metrics[name]["summary"] = m.summary(metrics[name])
    return metrics


def _write_images(metrics: dict, x: Inputs, ctx: Context) -> dict:
    """grid.png, then each computed metric's own files (e.g. nn.png)."""
    stack = np.stack(ctx.first)
    cols = int(math.ceil(math.sqrt(len(stack))))
    write_png(ctx.out / "grid.png", grid(stack, cols=cols), scale=max(1, 256 // (ctx.size * cols)))
    files = {"grid": str(ctx.out / "grid.png")}
    for name, r in metrics.items():
        m = METRICS.get(name)
        if m.files is not None and r.get("value") is not None:
            files.update(m.files(r, x, ctx))
    return files


def _network_doc(net) -> dict | None:
    """The network's name, file digest and whether it is the 2015 FID graph, decided by its content."""
    return None if net is None else describe_network(net, net_digest(net))


def run_eval(cfg, progress: Callable | None = None) -> EvalResult:
    progress = progress or (lambda done, total, info="": None)
    t0 = time.monotonic()
    names = cfg.metric_list()
    if any(METRICS.get(m).needs_net for m in names):
        features.resolve_path(cfg.inception)  # fail before any work when the network file is missing
    st = setup(cfg, cfg.count, cfg.real_count or cfg.REAL_MAX)
    net = _load_net(cfg, names)
    want = Want.of(names, net)
    out = Path(cfg.out) if cfg.out else _default_out(cfg, st)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").unlink(missing_ok=True)  # written last: its presence means complete
    x = Inputs(nn_space=("inception" if net is not None else "pixel") if want.nn else "")
    cache, key, cached = _real_cache(cfg, st, net, want)
    x.real_feats = cached
    needs_pass = (want.net and cached is None) or want.pixels or (want.nn and net is None)
    total = (st.real.count if needs_pass else 0) + st.fake.count
    done = _gather_real(cfg, st, net, want, x, progress, total, cache, key) if needs_pass else 0
    if want.nn and net is not None:
        x.real_nn = x.real_feats
    first = _gather_fake(cfg, st, net, want, x, progress, done, total)
    metrics = _compute(cfg, names, x)
    files = _write_images(metrics, x, Context(out, first, st.real, st.real.size))
    data = {"path": str(st.dataset), "images": st.real.count, "size": st.real.size, "channels": st.real.channels,
            "dataset_size": st.real.native, "real_features": ("cache" if cached is not None else "computed") if want.net else None,
            "msssim_images": int(len(x.real_ms)) if x.real_ms is not None else None}
    result = EvalResult(out=str(out), metrics=metrics, network=_network_doc(net), source={**st.fake_desc, "images": st.fake.count},
                        data=data, files=files, notes=st.notes, seconds=time.monotonic() - t0)
    write_reports(result, cfg, st, out)
    return result


def _shrink(images: np.ndarray, side: int) -> np.ndarray:
    if images.shape[1] == side:
        return images
    return np.clip(np.rint(downscale_area(images, side)), 0, 255).astype(np.uint8)

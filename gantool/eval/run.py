"""`gantool eval`: stream generated and real images once, gather what the asked metrics need
(Inception features, MS-SSIM-sized copies, nearest-neighbour features), compute the metrics, and
write report.json, report.html, grid.png, nn.png and one metrics.jsonl line per metric.

Real-data Inception features are cached (eval/cache.py), keyed by the dataset's content and the
settings, so scoring many checkpoints against one dataset pays for the real pass once.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from gantool import __version__
from gantool.atomic import write_json
from gantool.errors import UsageError
from gantool.eval import sources
from gantool.eval.metrics import METRICS, Inputs, summary
from gantool.images import downscale_area, grid, write_png

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


def _run_dataset(run_dir: Path, data: str) -> Path:
    """The dataset a run trained on: its recorded path as given, else relative to the folder
    holding runs/ (the usual working directory of `gantool train`)."""
    for p in (Path(data), run_dir.parent.parent / data):
        if (p / "manifest.json").is_file():
            return p
    raise UsageError(f"--data: the run's dataset {data} is not here any more; pass --data PATH")


def open_real(data: Path, size: int, multiples: bool):
    from gantool.data.shards import open_dataset  # noqa: PLC0415
    from gantool.train.rundir import find_dataset  # noqa: PLC0415

    if not (data / "manifest.json").is_file():
        if not data.is_dir():
            raise UsageError(f"--data: no dataset at {data}")
        data = find_dataset(data, size, multiples=multiples)
    return open_dataset(data)


def setup(cfg, fake_limit: int, real_count: int | None) -> Setup:
    """Open both sides: RUN (generator) or --fake, and --data (default: the run's dataset)."""
    notes: list[str] = []
    if cfg.run is not None:
        from gantool.sample import load_generator  # noqa: PLC0415
        from gantool.sample_run import check_latent_options  # noqa: PLC0415

        gen = load_generator(cfg.run, cfg.resolution, cfg.ema)
        check_latent_options(cfg, gen)
        fake = sources.GeneratorSource(gen, fake_limit, cfg.seed, cfg.zrange, cfg.truncation)
        run_dir = Path(gen.run_dir) if gen.run_dir else None
        if cfg.data:
            data = Path(cfg.data)
        elif run_dir is not None:
            from gantool.train.rundir import load_run_config  # noqa: PLC0415

            data = _run_dataset(run_dir, load_run_config(run_dir).data)
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
        if ds.size != size and not (ds.size % size == 0 and (ds.size // size) & (ds.size // size - 1) == 0):
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


def _load_net(cfg, names: list[str]):
    """(network or None, nn space). The network is required when an Inception metric is asked;
    nn alone uses it when a file is there and falls back to pixels otherwise."""
    from gantool.eval import features  # noqa: PLC0415

    if any(METRICS.get(m).needs_net for m in names):
        return features.load_feature_net(cfg.inception)
    if "nn" in names:
        try:
            features.resolve_path(cfg.inception)
        except UsageError:
            if cfg.inception:
                raise
            return None
        return features.load_feature_net(cfg.inception)
    return None


def run_eval(cfg, progress: Callable | None = None) -> EvalResult:
    progress = progress or (lambda done, total, info="": None)
    t0 = time.monotonic()
    names = cfg.metric_list()
    if any(METRICS.get(m).needs_net for m in names):
        from gantool.eval.features import resolve_path  # noqa: PLC0415

        resolve_path(cfg.inception)  # fail before any work when the network file is missing
    st = setup(cfg, cfg.count, cfg.real_count or cfg.REAL_MAX)
    net = _load_net(cfg, names)
    out = Path(cfg.out) if cfg.out else _default_out(cfg, st)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").unlink(missing_ok=True)  # written last: its presence means complete

    want_net = net is not None and any(METRICS.get(m).needs_net or m == "nn" for m in names)
    want_ms = "msssim" in names
    want_nn = "nn" in names
    size = st.real.size
    ms_side = min(cfg.msssim_size, size)
    x = Inputs(nn_space=("inception" if net is not None else "pixel") if want_nn else "")

    # real side: cached Inception features, or one streamed pass
    from gantool.eval.cache import FeatureCache  # noqa: PLC0415

    cache = FeatureCache.default() if cfg.cache else None
    key = FeatureCache.key(st.real, net) if (want_net and cache) else None
    cached = cache.get(key, st.real.count) if key else None
    if cached is not None:
        x.real_feats = cached
    ms_n = min(st.real.count, cfg.count, MS_MAX)
    ms_pick = np.sort(np.random.default_rng([cfg.seed, 11]).permutation(st.real.count)[:ms_n]) if want_ms else None
    need_real_pass = (want_net and cached is None) or want_ms or (want_nn and net is None)
    total = (st.real.count if need_real_pass else 0) + st.fake.count
    done = 0
    if need_real_pass:
        feats, ms, pix = [], [], []
        pos = 0
        for b in st.real.batches(cfg.batch):
            if want_net and cached is None:
                feats.append(net.extract(b, cfg.batch).astype(np.float32))
            if want_ms:
                sel = ms_pick[(ms_pick >= pos) & (ms_pick < pos + len(b))] - pos
                if len(sel):
                    ms.append(_shrink(b[sel], ms_side))
            if want_nn and net is None:
                from gantool.eval.nn import pixel_features  # noqa: PLC0415

                pix.append(pixel_features(b))
            pos += len(b)
            done += len(b)
            progress(done, total, "real")
        if feats:
            x.real_feats = np.concatenate(feats)
            if cache and key:
                cache.put(key, x.real_feats, {"dataset": str(st.dataset), "network": net.name, "count": st.real.count})
        if ms:
            x.real_ms = np.concatenate(ms)
        if pix:
            x.real_nn = np.concatenate(pix)
    if want_nn and net is not None:
        x.real_nn = x.real_feats

    # generated side: one streamed pass
    feats, ms, nn_feats, first = [], [], [], []
    for b in st.fake.batches(cfg.batch):
        f = net.extract(b, cfg.batch).astype(np.float32) if want_net else None
        if f is not None:
            feats.append(f)
        have_ms = sum(len(a) for a in ms)
        if want_ms and have_ms < MS_MAX:
            ms.append(_shrink(b[:MS_MAX - have_ms], ms_side))
        have_nn = sum(len(a) for a in nn_feats)
        if want_nn and have_nn < cfg.nn_count:
            take = b[:cfg.nn_count - have_nn]
            if net is not None:
                nn_feats.append(f[:len(take)])
            else:
                from gantool.eval.nn import pixel_features  # noqa: PLC0415

                nn_feats.append(pixel_features(take))
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

    metrics: dict = {}
    for name in names:
        try:
            metrics[name] = METRICS.get(name).compute(x, cfg)
        except ValueError as e:  # too few images for this metric: say so, keep the others
            metrics[name] = {"value": None, "error": str(e)}
        if metrics[name].get("value") is not None:
            metrics[name]["summary"] = summary(name, metrics[name])

    files = {}
    stack = np.stack(first)
    cols = int(math.ceil(math.sqrt(len(stack))))
    write_png(out / "grid.png", grid(stack, cols=cols), scale=max(1, 256 // (size * cols)))
    files["grid"] = str(out / "grid.png")
    if "nn_index" in x.extra:
        idx = x.extra["nn_index"]
        shown = np.stack(first[:len(idx)]) if len(first) >= len(idx) else None
        if shown is not None:
            from gantool.eval.nn import nn_grid  # noqa: PLC0415

            neighbours = st.real.fetch(idx.reshape(-1)).reshape(idx.shape + (size, size, st.real.channels))
            write_png(out / "nn.png", nn_grid(shown, neighbours), scale=max(1, 64 // size))
            files["nn"] = str(out / "nn.png")
            metrics["nn"]["grid"] = files["nn"]
            for row, pos in zip(metrics["nn"]["shown"], idx):
                row["dataset_index"] = [int(st.real.indices[p]) for p in pos]

    from gantool.eval.cache import net_digest  # noqa: PLC0415

    from gantool.eval.inception_check import describe_network  # noqa: PLC0415

    network = None if net is None else describe_network(net, net_digest(net))  # comparable: by content
    data = {"path": str(st.dataset), "images": st.real.count, "size": size, "channels": st.real.channels,
            "dataset_size": st.real.native, "real_features": ("cache" if cached is not None else "computed") if want_net else None,
            "msssim_images": int(len(x.real_ms)) if x.real_ms is not None else None}
    source = {**st.fake_desc, "images": st.fake.count}
    result = EvalResult(out=str(out), metrics=metrics, network=network, source=source, data=data, files=files,
                        notes=st.notes, seconds=time.monotonic() - t0)
    from gantool.eval.report import write_reports  # noqa: PLC0415

    write_reports(result, cfg, st, out)
    return result


def _shrink(images: np.ndarray, side: int) -> np.ndarray:
    if images.shape[1] == side:
        return images
    return np.clip(np.rint(downscale_area(images, side)), 0, 255).astype(np.uint8)


def metric_lines(result: EvalResult, step: int | None, when: float) -> list[dict]:
    """One metrics.jsonl record per metric: the headline value plus what it was measured on."""
    base = {"kind": "eval", "time": when, "report": str(Path(result.out) / "report.json"),
            "count": result.source["images"], "real_count": result.data["images"],
            "network": result.network["name"] if result.network else None}
    if step is not None:
        base["step"] = step
    if result.source.get("generator"):
        base["generator"] = result.source["generator"]
    lines = []
    for name, r in result.metrics.items():
        if r.get("value") is None:
            continue
        rec = {**base, "metric": name, "value": r["value"]}
        for k, as_ in (("std", "std"), ("precision", "precision"), ("recall", "recall"), ("real", "real_value"),
                       ("near_copies", "near_copies")):
            if r.get(k) is not None:
                rec[as_] = r[k]
        lines.append(rec)
    return lines


def report_doc(result: EvalResult, cfg) -> dict:
    return {"schema": 1, "kind": "gantool.eval", "gantool_version": __version__, "settings": cfg.to_dict(),
            **json.loads(json.dumps(result.to_dict()))}


def write_report_json(result: EvalResult, cfg, out: Path) -> None:
    write_json(out / "report.json", report_doc(result, cfg))

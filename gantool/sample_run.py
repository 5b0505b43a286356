"""`gantool sample`: write images (PNG each + grid.png), optionally one .npz and a latent walk.

Memory stays bounded by --batch: images are generated, written and appended to the .npz
(streamed into its zip entry) one batch at a time. sample.json is written last, so a folder
without it is an interrupted run, not a complete one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from gantool import __version__, faults
from gantool.atomic import pid_alive, write_bytes, write_json
from gantool.errors import UsageError
from gantool.images import generation_batch, grid, write_png
from gantool.run.generator import Generator, check_latent_options, load_generator
from gantool.run.styles import fix_noise, mix_grid, require_styles, with_psi
from gantool.sample import interpolate, parse_seeds, z_for

GRID_MAX = 100


@dataclass
class SampleResult:
    out: str
    count: int
    files: list
    grid: str
    npz: str | None
    walk: list
    seed: int | None
    seeds: list | None
    zrange: float | None
    truncation: float | None
    latent: str
    generator: str
    resolution: int
    ema: bool
    seconds: float
    psi: float | None = None
    mix: dict | None = None  # the style-mixing grid: file, rows, cols, cutoff, num_ws

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["files"] = len(self.files)
        d["first_file"] = self.files[0] if self.files else None
        if self.seeds is not None and len(self.seeds) > 50:
            d["seeds"] = f"{len(self.seeds)} seeds, {self.seeds[0]}..{self.seeds[-1]}"
        return d


def default_out(cfg, gen: Generator, seeds: list[int] | None) -> Path:
    tag = (f"seeds{seeds[0]}-{seeds[-1]}-n{len(seeds)}" if seeds else f"seed{cfg.seed}-n{cfg.count}")
    if cfg.zrange is not None:
        tag += f"-z{cfg.zrange:g}"
    if cfg.truncation is not None:
        tag += f"-t{cfg.truncation:g}"
    if cfg.resolution:
        tag += f"-{gen.resolution}px"
    if cfg.psi is not None:
        tag += f"-psi{cfg.psi:g}"
    if cfg.interpolate:
        tag += f"-walk{cfg.interpolate}"
    if cfg.mix:
        tag += "-mix" + "_".join(re.sub(r"[^0-9-]", ".", t) for t in (cfg.mix, cfg.mix_cols))
        tag += f"-c{cfg.mix_cutoff}" if cfg.mix_cutoff is not None else ""
    base = Path(gen.run_dir) / "samples" / "generated" if gen.run_dir else Path("generated")
    return base / tag


class NpzStream:
    """An .npz with one uint8 array 'images' of known shape, written batch by batch (zip64,
    stored), plus small metadata arrays; renamed into place when complete."""

    def __init__(self, path: Path, shape: tuple, meta: dict):
        self.path, self.shape, self.meta = path, shape, meta
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed sample
            pid = stale.name[len(path.name) + 2:-4]
            if pid.isdigit() and not pid_alive(int(pid)):
                stale.unlink(missing_ok=True)
        self.zf = zipfile.ZipFile(self.tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self.fh = self.zf.open("images.npy", "w", force_zip64=True)
        np.lib.format.write_array_header_1_0(self.fh, {"descr": "|u1", "fortran_order": False, "shape": shape})
        self.written = 0

    def add(self, images: np.ndarray) -> None:
        self.fh.write(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
        self.written += len(images)

    def close(self) -> None:
        self.fh.close()
        for k, v in self.meta.items():
            with self.zf.open(f"{k}.npy", "w") as f:
                np.lib.format.write_array(f, np.asarray(v))
        self.zf.close()
        if self.written != self.shape[0]:
            raise RuntimeError(f"npz stream got {self.written} images, expected {self.shape[0]}")
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.zf.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def _load(cfg) -> tuple[Generator, Generator]:
    """-> (the generator, the generator with --psi baked in); the style options are checked
    before any image is written, and per-pixel noise is fixed (same seed, same bytes)."""
    gen = load_generator(cfg.source, cfg.resolution, cfg.ema)
    check_latent_options(cfg, gen)
    if cfg.mix:
        require_styles(gen, "--mix").cutoff(cfg.mix_cutoff)
    fix_noise(gen)
    return gen, with_psi(gen, cfg.psi)


def run_sample(cfg, progress: Callable | None = None) -> SampleResult:
    progress = progress or (lambda done, total, info="": None)
    t0 = time.monotonic()
    plain, gen = _load(cfg)
    seeds = parse_seeds(cfg.seeds) if cfg.seeds else None
    out = Path(cfg.out) if cfg.out else default_out(cfg, gen, seeds)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sample.json").unlink(missing_ok=True)  # re-marked complete at the end
    n = len(seeds) if seeds else cfg.count

    def z_of(i: int) -> np.ndarray:
        if seeds:
            return z_for(seeds[i], None, gen.z_dim, gen.latent, cfg.zrange, cfg.truncation)
        return z_for(cfg.seed, i, gen.z_dim, gen.latent, cfg.zrange, cfg.truncation)

    files: list[str] = []
    first: list[np.ndarray] = []
    npz = None
    if cfg.npz:
        meta = {"seeds": np.asarray(seeds if seeds else [cfg.seed], np.int64),
                "zrange": np.float32(cfg.zrange if cfg.zrange is not None else np.nan),
                "truncation": np.float32(cfg.truncation if cfg.truncation is not None else np.nan)}
        if cfg.psi is not None:  # only then: samples.npz without --psi keeps the bytes it always had
            meta["psi"] = np.float32(cfg.psi)
        npz = NpzStream(Path(cfg.npz), (n, gen.resolution, gen.resolution, int(gen.model.output_shape[-1])), meta)
    try:
        step = cfg.batch or generation_batch(gen.resolution)
        for start in range(0, n, step):
            idx = range(start, min(n, start + step))
            images = gen(np.stack([z_of(i) for i in idx]))
            for i, img in zip(idx, images):
                name = f"seed-{seeds[i]:06d}.png" if seeds else f"img-{i:06d}.png"
                write_png(out / name, img)
                files.append(name)
            if len(first) < GRID_MAX:
                first.extend(images[: GRID_MAX - len(first)])
            if npz:
                npz.add(images)
            faults.point("sample.batch")
            progress(idx[-1] + 1, n)
        if npz:
            npz.close()
    except BaseException:
        if npz:
            npz.abort()
        raise
    stack = np.stack(first)
    write_png(out / "grid.png", grid(stack, cols=int(math.ceil(math.sqrt(len(stack))))),
              scale=max(1, 256 // (gen.resolution * int(math.ceil(math.sqrt(len(stack)))))))
    walk = write_walk(cfg, gen, out) if cfg.interpolate else []
    mix = write_mix(cfg, plain, out) if cfg.mix else None
    result = SampleResult(out=str(out), count=n, files=files, grid=str(out / "grid.png"), npz=cfg.npz, walk=walk,
                          seed=None if seeds else cfg.seed, seeds=seeds, zrange=cfg.zrange, truncation=cfg.truncation,
                          latent=gen.latent, generator=gen.file, resolution=gen.resolution, ema=gen.ema,
                          seconds=time.monotonic() - t0, psi=cfg.psi, mix=mix)
    write_json(out / "sample.json", {"schema": 1, "kind": "gantool.samples", "gantool_version": __version__,
                                     "settings": cfg.to_dict(), **result.to_dict(), "files": files})
    return result


def write_walk(cfg, gen: Generator, out: Path) -> list[str]:
    """A closed latent walk through K points (z of images 0..K-1 of --seed): walk.gif and
    walk.mp4, or walk-frames/ PNGs when no MP4 encoder is available."""
    k, f = cfg.interpolate, cfg.frames
    points = [z_for(cfg.seed, i, gen.z_dim, gen.latent, cfg.zrange, cfg.truncation) for i in range(k)]
    zs = [interpolate(points[j], points[(j + 1) % k], t / f, gen.latent) for j in range(k) for t in range(f)]
    step = cfg.batch or generation_batch(gen.resolution)
    frames = np.concatenate([gen(np.stack(zs[i:i + step])) for i in range(0, len(zs), step)])
    scale = max(1, 256 // gen.resolution)
    frames = np.repeat(np.repeat(frames, scale, axis=1), scale, axis=2)
    rgb = frames if frames.shape[-1] == 3 else np.repeat(frames, 3, axis=-1)
    written = [_write_gif(out / "walk.gif", rgb, cfg.fps)]
    mp4 = _write_mp4(out / "walk.mp4", rgb, cfg.fps)
    if mp4:
        written.append(mp4)
    else:
        (out / "walk-frames").mkdir(exist_ok=True)
        for i, fr in enumerate(rgb):
            write_png(out / "walk-frames" / f"frame-{i:05d}.png", fr)
        written.append(str(out / "walk-frames"))
    return written


def write_mix(cfg, gen: Generator, out: Path) -> dict:
    """The style-mixing grid mix.png: the rows' seed images down the left, the columns' along the
    top, cell (i, j) = synthesis of row i's first `cutoff` ws followed by column j's other ws
    (gantool.run.styles.mix_grid; --psi truncates every ws first). Tiles of resolution px with
    2 px gaps (gantool.images.grid), the top-left tile blank, scaled up to >= 256 px."""
    styles = require_styles(gen, "--mix")
    rows, cols = parse_seeds(cfg.mix, "--mix"), parse_seeds(cfg.mix_cols, "--mix-cols")
    cutoff = styles.cutoff(cfg.mix_cutoff)
    z_of = lambda seeds: np.stack([z_for(s, None, gen.z_dim, gen.latent, None, cfg.truncation) for s in seeds])  # noqa: E731
    row_imgs, col_imgs, cells = mix_grid(styles, z_of(rows), z_of(cols), cutoff, cfg.psi,
                                         cfg.batch or generation_batch(gen.resolution))
    tiles = [np.zeros_like(col_imgs[0]), *col_imgs]
    for i, img in enumerate(row_imgs):
        tiles += [img, *cells[i]]
    scale = max(1, 256 // (gen.resolution * (len(cols) + 1)))
    write_png(out / "mix.png", grid(np.stack(tiles), cols=len(cols) + 1), scale=scale)
    return {"file": str(out / "mix.png"), "rows": rows, "cols": cols, "cutoff": cutoff, "num_ws": styles.num_ws,
            "scale": scale, "pad": 2}


def _write_gif(path: Path, rgb: np.ndarray, fps: int) -> str:
    import io  # noqa: PLC0415

    from PIL import Image  # noqa: PLC0415

    imgs = [Image.fromarray(fr) for fr in rgb]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0)
    write_bytes(path, buf.getvalue())
    return str(path)


def _write_mp4(path: Path, rgb: np.ndarray, fps: int) -> str | None:
    import cv2  # noqa: PLC0415

    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.mp4")
    h, w = rgb.shape[1:3]
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
    if not writer.isOpened():
        return None
    for fr in rgb:
        writer.write(np.ascontiguousarray(fr[:, :, ::-1]))
    writer.release()
    if not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        return None
    os.replace(tmp, path)
    return str(path)

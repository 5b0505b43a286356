"""Sampling: loading a generator from a run or checkpoint, and generating uint8 images in
bounded batches. Library code: no printing (habit 1).

Which z: gantool.latent (z_for, draw_z, interpolate; re-exported here): a model trained on
uniform z (the default) is sampled from U(-r, r)^d with r = --zrange (the megapixel report cut
artefacts with 0.4); a normal-z model from N(0, 1)^d, truncated with --truncation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gantool.errors import UsageError
from gantool.latent import draw_z, interpolate, z_for  # noqa: F401  (the z sampler lives in gantool.latent)


def parse_seeds(text: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7] (order kept, ranges inclusive)."""
    out: list[int] = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise UsageError(f"--seeds: {part!r} is not N or A-B (e.g. 0-35,42)")
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        if b < a:
            raise UsageError(f"--seeds: range {part!r} runs backwards")
        if b - a > 10_000_000:
            raise UsageError(f"--seeds: range {part!r} is too long")
        out.extend(range(a, b + 1))
    if not out:
        raise UsageError("--seeds: no seeds given")
    return out


@dataclass
class Generator:
    model: object
    z_dim: int
    latent: str
    file: str
    run_dir: str | None
    resolution: int
    ema: bool

    def __call__(self, z: np.ndarray) -> np.ndarray:
        from gantool.images import to_uint8  # noqa: PLC0415

        return to_uint8(self.model(z, training=False))


def load_generator(source: str | Path, resolution: int | None = None, ema: bool | None = None) -> Generator:
    """A run folder (its latest generator file), a generator .keras file, or one checkpoint
    prefix (runs/X/checkpoints/ckpt-N) of a run."""
    from gantool.tfquiet import import_tf  # noqa: PLC0415

    src = Path(source)
    if (src / "config.json").is_file():
        return _from_run(src, resolution, ema)
    if src.suffix == ".keras" and src.is_file():
        run = src.parent.parent if (src.parent.parent / "config.json").is_file() else None
        cfg = _run_cfg(run) if run else None
        import_tf()
        model = _load_keras(src)
        z_dim = int(model.input_shape[-1])
        latent = cfg.latent if cfg else "uniform"
        return Generator(model, z_dim, latent, str(src), str(run) if run else None, int(model.output_shape[1]),
                         "_ema" in src.name)
    if Path(str(src) + ".index").is_file() and (src.parent.parent / "config.json").is_file():
        return _from_checkpoint(src, resolution, ema)
    raise UsageError(f"no checkpoint at {source}: give a run folder, a generator .keras file or a "
                     "checkpoints/ckpt-N prefix")


def _run_cfg(run: Path):
    from gantool.train.rundir import load_run_config  # noqa: PLC0415

    return load_run_config(run)


def _load_keras(path: Path):
    import keras  # noqa: PLC0415

    import gantool.models.layers  # noqa: F401,PLC0415  (registers pggan's custom layers)
    import gantool.models.stylegan2_layers  # noqa: F401,PLC0415  (and stylegan2's)
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001
        raise UsageError(f"cannot load {path}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None


def _from_run(run: Path, resolution: int | None, ema: bool | None) -> Generator:
    from gantool.tfquiet import import_tf  # noqa: PLC0415

    cfg = _run_cfg(run)
    ck = run / "checkpoints"
    res = resolution or cfg.size
    stage = f"-{res}px" if resolution and (cfg.batch_schedule or res != cfg.size) else ""
    if resolution and not cfg.batch_schedule and resolution != cfg.size:
        raise UsageError(f"--resolution: {run} is a {cfg.variant} run at {cfg.size} px; only pggan runs have stages")
    names = ([f"generator_ema{stage}.keras"] if ema is not False else []) + ([f"generator{stage}.keras"] if ema is not True else [])
    for name in names:
        if (ck / name).is_file():
            import_tf()
            return Generator(_load_keras(ck / name), cfg.z_dim, cfg.latent, str(ck / name), str(run), res, "_ema" in name)
    have = sorted(p.name for p in ck.glob("generator*.keras")) if ck.is_dir() else []
    if resolution and have:
        stages = sorted({int(m.group(1)) for p in have if (m := re.search(r"-(\d+)px", p))})
        raise UsageError(f"--resolution {resolution}: no completed {resolution} px stage in {run} "
                         f"(completed: {', '.join(map(str, stages)) or 'none'})")
    if ema is True and have:
        raise UsageError(f"--ema: {run} was trained without --ema (found {', '.join(have)})")
    raise UsageError(f"no checkpoint in {run} (no generator .keras file yet)")


def _from_checkpoint(prefix: Path, resolution: int | None, ema: bool | None) -> Generator:
    from gantool.train.state import build_state  # noqa: PLC0415

    run = prefix.parent.parent
    cfg = _run_cfg(run)
    state = build_state(cfg)
    try:
        state.checkpoint().restore(str(prefix)).expect_partial()
    except Exception as e:  # noqa: BLE001
        from gantool.train.checkpoint import refuse_foreign  # noqa: PLC0415

        refuse_foreign(prefix, e)
        raise UsageError(f"cannot read checkpoint {prefix}: {type(e).__name__}") from None
    use_ema = state.G_ema is not None and ema is not False
    if ema is True and state.G_ema is None:
        raise UsageError(f"--ema: {run} was trained without --ema")
    res = resolution or cfg.size
    if state.nets is not None:
        nets = state.nets_ema if use_ema else state.nets
        if res not in nets.res:
            raise UsageError(f"--resolution: {res} is not a stage of this run ({', '.join(map(str, nets.res))})")
        model = nets.generator(nets.res.index(res))
    else:
        if res != cfg.size:
            raise UsageError(f"--resolution: {run} is a {cfg.variant} run at {cfg.size} px")
        model = state.G_ema if use_ema else state.G
    return Generator(model, cfg.z_dim, cfg.latent, str(prefix), str(run), res, use_ema)

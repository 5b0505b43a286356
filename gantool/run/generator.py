"""Loading a generator to sample, evaluate or export: from a run folder (its latest generator
.keras file), a generator .keras file, or one checkpoint prefix runs/X/checkpoints/ckpt-N.

A checkpoint is read for the generator alone: G (or its EMA copy) is built from the run's
config and only its variables are restored; no optimizer, step counter or data position is
made. (A fixed-size variant's builder returns D with G; D is dropped unused. pggan builds its
generator layers only.) TensorFlow and Keras are imported inside the functions (habit 8)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gantool.errors import UsageError
from gantool.images import to_uint8
from gantool.models import VARIANTS
from gantool.models.base import precision
from gantool.models.pggan import ProgressiveNets
from gantool.run.checkpoints import completed_stages, generator_files, is_checkpoint_prefix, refuse_foreign
from gantool.run.config import load_run_config
from gantool.run.layout import checkpoints_dir, generator_name, is_run
from gantool.tfquiet import import_tf


@dataclass
class Generator:
    model: object
    z_dim: int
    latent: str
    file: str
    run_dir: str | None
    resolution: int
    ema: bool
    variant: str | None = None  # the run's variant (None: a .keras file outside a run folder)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return to_uint8(self.model(z, training=False))


def load_generator(source: str | Path, resolution: int | None = None, ema: bool | None = None) -> Generator:
    """A run folder (its latest generator file), a generator .keras file, or one checkpoint
    prefix (runs/X/checkpoints/ckpt-N) of a run."""
    src = Path(source)
    if is_run(src):
        return _from_run(src, resolution, ema)
    if src.suffix == ".keras" and src.is_file():
        run = src.parent.parent if is_run(src.parent.parent) else None
        cfg = load_run_config(run) if run else None
        model = load_keras(src)
        latent = cfg.latent if cfg else "uniform"
        return Generator(model, int(model.input_shape[-1]), latent, str(src), str(run) if run else None,
                         int(model.output_shape[1]), "_ema" in src.name, cfg.variant if cfg else None)
    if is_checkpoint_prefix(src):
        return _from_checkpoint(src, resolution, ema)
    raise UsageError(f"no checkpoint at {source}: give a run folder, a generator .keras file or a "
                     "checkpoints/ckpt-N prefix")


def load_keras(path: Path):
    """A generator .keras file (pggan's custom layers registered first), or a UsageError."""
    import_tf()
    import keras  # noqa: PLC0415

    import gantool.models.layers  # noqa: F401,PLC0415  (registers pggan's custom layers; imports keras)
    import gantool.models.stylegan2_layers  # noqa: F401,PLC0415  (registers stylegan2's custom layers)
    try:
        return keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001
        raise UsageError(f"cannot load {path}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None


def _from_run(run: Path, resolution: int | None, ema: bool | None) -> Generator:
    cfg = load_run_config(run)
    ck = checkpoints_dir(run)
    res = resolution or cfg.size
    stage = res if resolution and (cfg.batch_schedule or res != cfg.size) else None
    if resolution and not cfg.batch_schedule and resolution != cfg.size:
        raise UsageError(f"--resolution: {run} is a {cfg.variant} run at {cfg.size} px; only pggan runs have stages")
    names = ([generator_name(True, stage)] if ema is not False else []) + ([generator_name(False, stage)] if ema is not True else [])
    for name in names:
        if (ck / name).is_file():
            return Generator(load_keras(ck / name), cfg.z_dim, cfg.latent, str(ck / name), str(run), res, "_ema" in name,
                             cfg.variant)
    have = generator_files(run)
    if resolution and have:
        raise UsageError(f"--resolution {resolution}: no completed {resolution} px stage in {run} "
                         f"(completed: {', '.join(map(str, completed_stages(have))) or 'none'})")
    if ema is True and have:
        raise UsageError(f"--ema: {run} was trained without --ema (found {', '.join(have)})")
    raise UsageError(f"no checkpoint in {run} (no generator .keras file yet)")


def _from_checkpoint(prefix: Path, resolution: int | None, ema: bool | None) -> Generator:
    run = prefix.parent.parent
    cfg = load_run_config(run)
    tf = import_tf()
    has_ema = cfg.ema > 0 or _holds(tf, prefix, "generator_ema")  # variants whose EMA is always on
    if ema is True and not has_ema:
        raise UsageError(f"--ema: {run} was trained without --ema")
    use_ema = has_ema and ema is not False
    res = resolution or cfg.size
    if VARIANTS.get(cfg.variant).progressive:
        model, parts = _progressive_generator(cfg, res, use_ema)
    else:
        if res != cfg.size:
            raise UsageError(f"--resolution: {run} is a {cfg.variant} run at {cfg.size} px")
        model = _fixed_generator(cfg, use_ema)
        parts = {"generator_ema" if use_ema else "generator": model}
    try:
        tf.train.Checkpoint(**parts).restore(str(prefix)).expect_partial().assert_existing_objects_matched()
    except Exception as e:  # noqa: BLE001  (G's objects not the checkpoint's: another size or width, not a torn file)
        refuse_foreign(prefix, e)
        raise UsageError(f"cannot read checkpoint {prefix}: {type(e).__name__}") from None
    return Generator(model, cfg.z_dim, cfg.latent, str(prefix), str(run), res, use_ema, cfg.variant)


def _holds(tf, prefix: Path, name: str) -> bool:
    """Whether the checkpoint holds an object `name` at its top level."""
    try:
        return any(v.split("/")[0] == name for v, _ in tf.train.list_variables(str(prefix)))
    except Exception:  # noqa: BLE001  (an unreadable checkpoint is refused when it is restored)
        return False


def _fixed_generator(cfg, ema: bool):
    """G as the run built it (its EMA copy is a clone of G: the same structure)."""
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(int(cfg.seed))
    with precision(cfg):
        G, _ = VARIANTS.get(cfg.variant).build(cfg)
    return keras.models.clone_model(G) if ema else G


def _progressive_generator(cfg, res: int, ema: bool):
    """pggan: every level's generator layers (as the run built them, fade paths included) and
    the model for stage `res`."""
    nets = ProgressiveNets(cfg, discriminator=False)
    nets.generator(nets.L)
    for level in range(1, nets.L + 1):
        nets.generator(level, fading=True)
    if res not in nets.res:
        raise UsageError(f"--resolution: {res} is not a stage of this run ({', '.join(map(str, nets.res))})")
    key = "generator_ema_layers" if ema else "generator_layers"
    return nets.generator(nets.res.index(res)), {key: nets.g_layers()}


def check_latent_options(cfg, gen: Generator) -> None:
    """--zrange fits uniform-z models, --truncation normal-z ones (sample, eval and quiz)."""
    if gen.latent == "normal" and cfg.zrange is not None:
        raise UsageError("--zrange: this model was trained on normal z; use --truncation T to bound |z|")
    if gen.latent == "uniform" and cfg.truncation is not None:
        raise UsageError("--truncation: this model was trained on uniform z; use --zrange R for z ~ U(-R, R)")

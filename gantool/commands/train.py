"""`gantool train VARIANT`: options -> TrainConfig -> run_training -> summary.

Options left unset take the variant's defaults (gantool.models.*.defaults), then the global
ones (gantool.config.TRAIN_DEFAULTS); config.json in the run folder records the result.
"""

from __future__ import annotations

import math
import sys
from typing import Optional

import typer

from gantool import console
from gantool.errors import UsageError

ALT_HELP = ("The megapixel report's extra alternating update: after every N-th step, one more G update "
            "and then one more D update on the same real batch with fresh z (0 = off; the report used 50).")


def train(
    variant: Optional[str] = typer.Argument(None, help="Model variant: gan, dcgan, hdcgan, pggan, stylegan2 (not needed with --resume)."),
    data: Optional[str] = typer.Option(None, "--data", help="Dataset folder from `gantool prep`. Default: the one dataset under ./data (matching --size)."),
    size: Optional[int] = typer.Option(None, "--size", help="Pick the dataset of this size under ./data (resolution always comes from the dataset)."),
    target: Optional[int] = typer.Option(None, "--target", help="pggan: final resolution (4*2^k; default the dataset's size, which may be the target times a power of two). Others: same as --size."),
    fade_kimg: Optional[float] = typer.Option(None, "--fade-kimg", help="pggan: thousand real images per fade-in phase (default: the paper's 800k-per-30k-images ratio for your dataset, 1-800)."),
    stable_kimg: Optional[float] = typer.Option(None, "--stable-kimg", help="pggan: thousand real images per stabilise phase (default as --fade-kimg)."),
    batch_schedule: Optional[str] = typer.Option(None, "--batch-schedule", help="Batch per resolution RES:BATCH,... pggan: per growth stage (default 4:128,8:128,16:64,32:32,64:16,128:8,256:4,512:4,1024:4). Others: the batch for the dataset's size (its entry or the nearest lower one); 'megapixel' = the megapixel report's table " + "192:128,...,1024:6."),
    out: Optional[str] = typer.Option(None, "--out", help="Run folder. Default: runs/NNNNN-VARIANT-DATASET."),
    runs: str = typer.Option("runs", "--runs", help="Folder that holds numbered run folders."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue the run in this folder exactly where its last checkpoint left it (only --steps/--kimg may change)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Train until this many steps (one step = one D and one G update). Default 10000."),
    kimg: Optional[float] = typer.Option(None, "--kimg", help="Train until this many thousand real images were shown (alternative to --steps)."),
    batch: Optional[int] = typer.Option(None, "--batch", help="Real images per step (default: the variant's, 64; hdcgan 32)."),
    lr_g: Optional[float] = typer.Option(None, "--lr-g", help="Adam learning rate of G (default 2e-4)."),
    lr_d: Optional[float] = typer.Option(None, "--lr-d", help="Adam learning rate of D (default 2e-4)."),
    beta1: Optional[float] = typer.Option(None, "--beta1", help="Adam beta1 (default 0.5)."),
    beta2: Optional[float] = typer.Option(None, "--beta2", help="Adam beta2 (default 0.999)."),
    seed: int = typer.Option(0, "--seed", help="Seed for weights, data order, z, noise and augmentation."),
    loss: Optional[str] = typer.Option(None, "--loss", help="bce (non-saturating), lsgan (least squares), wgan-gp (+ gradient penalty and drift) or hinge."),
    z_dim: Optional[int] = typer.Option(None, "--z-dim", help="Latent size (default 100)."),
    latent: Optional[str] = typer.Option(None, "--latent", help="z distribution: uniform in [-1, 1] (default) or normal."),
    filters: Optional[int] = typer.Option(None, "--filters", help="Channels of the outermost layers (64 = reference DCGAN); gan: hidden width unit. Not with --preset."),
    max_filters: Optional[int] = typer.Option(None, "--max-filters", help="Cap on channels of the inner layers (default 512); dcgan, hdcgan, pggan."),
    kernel: Optional[int] = typer.Option(None, "--kernel", help="Convolution kernel size: 3, 4 (default) or 5; dcgan and hdcgan."),
    preset: Optional[str] = typer.Option(None, "--preset", help="dcgan only: mnist = the MNIST report's exact layer tables (no --filters, --max-filters, --kernel)."),
    spectral_norm: Optional[bool] = typer.Option(None, "--spectral-norm/--no-spectral-norm", help="Spectral normalisation on D's layers."),
    d_bias: Optional[bool] = typer.Option(None, "--d-bias/--no-d-bias", help="dcgan, hdcgan: a bias on D's first convolution (default off, as in the reference DCGAN). Without it a BatchNorm D with LeakyReLU cannot see the contrast of a fake batch; see docs/benchmarks.md."),
    out_gain: Optional[float] = typer.Option(None, "--out-gain", help="dcgan, hdcgan: G's output is clip(K * tanh, -1, 1), so black and white are reachable (default 1 = plain tanh; 1-2)."),
    r1: Optional[float] = typer.Option(None, "--r1", help="R1 gradient penalty weight gamma on real images (0 = off; stylegan2: lazy, every 16 steps, default 0.0002*res^2/batch)."),
    gp_weight: Optional[float] = typer.Option(None, "--gp-weight", help="wgan-gp: gradient penalty weight (default 10)."),
    drift: Optional[float] = typer.Option(None, "--drift", help="wgan-gp: epsilon drift weight on D(real)^2 (default 0.001)."),
    instance_noise: Optional[float] = typer.Option(None, "--instance-noise", help="Std of Gaussian noise added to D's inputs, annealed to 0 (hdcgan default 0.1)."),
    g_noise: Optional[float] = typer.Option(None, "--g-noise", help="Std of Gaussian noise added to z, annealed to 0 (hdcgan default 0.1)."),
    augment: Optional[str] = typer.Option(None, "--augment", help="Augment real and fake images before D in both updates: ada (adaptive, Karras et al. 2020b: the 'bgc' pipeline with a probability p steered by D's overfitting), diff (DiffAugment-style flip/translate/colour; a bare --augment means diff) or none (= --no-augment)."),
    augment_policy: Optional[str] = typer.Option(None, "--augment-policy", help="--augment diff: comma list of flip, translate, color (default all three; implies --augment diff)."),
    ada_target: Optional[float] = typer.Option(None, "--ada-target", help="--augment ada: the E[sign(D(real))] that p is steered toward (default 0.6)."),
    ada_kimg: Optional[float] = typer.Option(None, "--ada-kimg", help="--augment ada: thousand real images over which p can move by 1 (default 500; smaller = faster)."),
    subset: Optional[int] = typer.Option(None, "--subset", help="Train on a seeded subset of N images of the dataset (few-shot experiments without re-prepping)."),
    map_layers: Optional[int] = typer.Option(None, "--map-layers", help="stylegan2: depth of the mapping network z -> w (default 8)."),
    ema_kimg: Optional[float] = typer.Option(None, "--ema-kimg", help="stylegan2: half-life of G's moving average in thousand images (default batch*10/32, ramped up over the first images); its --ema is not used."),
    style_mixing: Optional[float] = typer.Option(None, "--style-mixing", help="stylegan2: probability that a training fake's styles switch from one w to a second at a random layer (default 0.9; stylegan2-ada's 32 px CIFAR setup: 0)."),
    pl_weight: Optional[float] = typer.Option(None, "--pl-weight", help="stylegan2: path length regularisation weight, applied every 4 steps (default 2; 0 = off, as in stylegan2-ada's 32 px CIFAR setup)."),
    ema: Optional[float] = typer.Option(None, "--ema", help="Keep a moving average of G's weights with this decay (e.g. 0.999; 0 = off); samples use it."),
    alt_every: Optional[int] = typer.Option(None, "--alt-every", help=ALT_HELP),
    reuse_fake: bool = typer.Option(False, "--reuse-fake", help="One G forward per step (the dcgan.torch / pytorch examples recipe): G's update scores the D update's fake images with the updated D instead of fresh z. Not with --grad-accum > 1, --alt-every or stylegan2."),
    grad_accum: Optional[int] = typer.Option(None, "--grad-accum", help="Split each step's batch into K micro-batches and average their gradients: the effective batch with 1/K of the activation memory (BatchNorm sees micro-batches). May change on --resume."),
    precision: Optional[str] = typer.Option(None, "--precision", help="float32 (default), mixed_float16 (dynamic loss scaling) or mixed_bfloat16."),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="default (one device), mirrored (all local GPUs, else logical CPUs) or multiworker (reads TF_CONFIG); --batch is the global batch. See docs/distributed.md. May change on --resume."),
    xla: Optional[bool] = typer.Option(None, "--xla/--no-xla", help="Compile the step with XLA (slower on a 2-core CPU; see docs/benchmarks.md)."),
    sample_every: Optional[int] = typer.Option(None, "--sample-every", help="Write samples/step-N.png every N steps (0 = only at start and end)."),
    ckpt_every: Optional[int] = typer.Option(None, "--ckpt-every", help="Checkpoint every N steps (and always at the end)."),
    log_every: Optional[int] = typer.Option(None, "--log-every", help="Append averaged losses to metrics.jsonl every N steps."),
    keep: Optional[int] = typer.Option(None, "--keep", help="Keep the last K checkpoints (plus the best by pfd8)."),
    grid: Optional[int] = typer.Option(None, "--grid", help="Sample grids are N x N images."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved settings, parameter counts and a memory estimate per replica, and stop."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the result on stdout, nothing else."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Train a GAN on a packed dataset; writes a run folder with checkpoints, samples and logs."""
    from gantool.train.distribute import check_strategy  # noqa: PLC0415

    if strategy is not None:
        check_strategy(strategy)
        if strategy == "multiworker" and not (out or resume):
            raise UsageError("--strategy multiworker: give --out RUN (or --resume RUN): every worker must name the same run folder")
    given = dict(batch=batch, lr_g=lr_g, lr_d=lr_d, beta1=beta1, beta2=beta2, loss=loss, z_dim=z_dim, latent=latent,
                 filters=filters, max_filters=max_filters, kernel=kernel, preset=preset, spectral_norm=spectral_norm,
                 d_bias=d_bias, out_gain=out_gain,
                 r1=r1, gp_weight=gp_weight, drift=drift, instance_noise=instance_noise, g_noise=g_noise, ema=ema,
                 alt_every=alt_every, xla=xla, sample_every=sample_every, ckpt_every=ckpt_every, log_every=log_every,
                 keep=keep, grid=grid, precision=precision, subset=subset, map_layers=map_layers, ema_kimg=ema_kimg,
                 style_mixing=style_mixing, pl_weight=pl_weight,
                 reuse_fake=reuse_fake or None)
    runtime = {k: v for k, v in dict(strategy=strategy, grad_accum=grad_accum).items() if v is not None}
    given.update(_augment_options(augment, augment_policy, ada_target, ada_kimg))
    if steps is not None and kimg is not None:
        raise UsageError("--steps and --kimg: give one of them")
    growth = dict(target=target, fade_kimg=fade_kimg, stable_kimg=stable_kimg, batch_schedule=batch_schedule)
    if resume:
        if any(v is not None for v in growth.values()):
            given.update({k: v for k, v in growth.items() if v is not None})
        cfg = _resume_config(resume, variant, given, data, out, steps, kimg, runtime)
    else:
        cfg = _new_config(variant, {**given, **runtime}, data, size, out, runs, steps, kimg, seed, growth)
    if dry_run:
        from gantool.train.estimate import estimate  # noqa: PLC0415

        est = estimate(cfg)
        if not as_json:
            p = est["params"]
            print(f"parameters: G {p['generator']:,}  D {p['discriminator']:,}  total {p['total']:,}")
            print(f"memory per replica at {est['resolution']} px, micro-batch {est['micro_batch']}: "
                  f"~{est['memory_gib']:.2f} GiB ({est['note']})")
        console.dry_run("train", cfg.to_dict(), as_json, resume=bool(resume), estimate=est)
        return

    from gantool.train.loop import run_training  # noqa: PLC0415
    from gantool.run.config import write_run_config
    from gantool.run.layout import create_run_dir  # noqa: PLC0415

    from gantool.train.distribute import writes_run_folder  # noqa: PLC0415

    if writes_run_folder(cfg.strategy):  # another worker of a cluster leaves the run folder to the chief
        if not resume:
            create_run_dir(cfg.run_dir)
        write_run_config(cfg)
    with console.progress(f"train {cfg.variant}", "steps", enabled=not quiet) as cb:
        result = run_training(cfg, progress=cb, resume=bool(resume))
    _render(result, as_json)
    if result.interrupted:
        from gantool.errors import Stopped  # noqa: PLC0415

        raise Stopped("interrupted")


AUGMENT_KINDS = ("ada", "diff", "none")


def normalise_argv(args: list[str]) -> list[str]:
    """`--augment` keeps its old flag form: a bare --augment (last, or before another option) is --augment diff,
    and --no-augment is --augment none."""
    out = []
    for i, a in enumerate(args):
        if a == "--no-augment":
            out += ["--augment", "none"]
        elif a == "--augment" and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out += ["--augment", "diff"]
        else:
            out.append(a)
    return out


def _augment_options(augment, policy, ada_target, ada_kimg) -> dict:
    """The stored `augment` ('' off, 'ada', or diff's policy string) and ADA's settings."""
    if augment is not None and augment not in AUGMENT_KINDS:
        raise UsageError(f"--augment: must be one of {', '.join(AUGMENT_KINDS)}, got {augment!r}")
    if policy is not None and augment in ("none", "ada"):
        why = "--no-augment turns augmentation off" if augment == "none" else "it is the policy of --augment diff"
        raise UsageError(f"--augment-policy: {why}; give one of them")
    for flag, v in (("--ada-target", ada_target), ("--ada-kimg", ada_kimg)):
        if v is not None and augment != "ada":
            raise UsageError(f"{flag}: only --augment ada uses it; add --augment ada or drop the flag")
    out = {"ada_target": ada_target, "ada_kimg": ada_kimg}
    if augment == "ada":
        out["augment"] = "ada"
    elif augment == "none":
        out["augment"] = ""
    elif policy is not None or augment == "diff":
        out["augment"] = policy or "flip,translate,color"
    return out


def _steps_for(steps, kimg, batch) -> Optional[int]:
    if kimg is not None:
        if kimg <= 0:
            raise UsageError(f"--kimg: must be > 0, got {kimg}")
        return int(math.ceil(kimg * 1000 / batch))
    return steps


def _new_config(variant, given, data, size, out, runs, steps, kimg, seed, growth):
    from gantool.config import TRAIN_DEFAULTS, TrainConfig  # noqa: PLC0415
    from gantool.data.shards import open_dataset  # noqa: PLC0415
    from gantool.models import VARIANTS  # noqa: PLC0415
    from gantool.run.layout import find_dataset, next_run_dir  # noqa: PLC0415

    if variant is None:
        raise UsageError("VARIANT: missing; choose one of " + ", ".join(VARIANTS.names()) + " (or --resume RUN)")
    spec = VARIANTS.get(variant)
    own = {k: growth[k] for k in ("fade_kimg", "stable_kimg")}
    spec.with_preset(given.get("preset")).refuse_unused({**given, **own})
    loss = given.get("loss") or {**TRAIN_DEFAULTS, **spec.defaults}["loss"]
    for opt in ("gp_weight", "drift"):  # wgan-gp's terms: another loss would ignore them
        if given.get(opt) is not None and loss != "wgan-gp":
            raise UsageError(f"--{opt.replace('_', '-')}: the {loss} loss does not use it (a term of --loss wgan-gp); drop the flag")
    if size is not None and growth["target"] is not None and size != growth["target"]:
        raise UsageError("--size and --target: give one of them")
    want = growth["target"] or size
    if spec.progressive and want is not None:
        from gantool.models.pggan import levels_for  # noqa: PLC0415

        levels_for(want)
    from gantool.errors import DataError  # noqa: PLC0415

    try:
        ds = open_dataset(data) if data else open_dataset(find_dataset("data", want, multiples=spec.progressive))
    except DataError as e:  # nothing was done yet: a wrong --data is a usage error
        raise UsageError(f"--data: {e.message}") from None
    if want is not None and ds.size != want and not spec.progressive:
        raise UsageError(f"--size {want}: dataset {ds.path} is {ds.size} px")
    if given.get("subset") is not None and given["subset"] > ds.count:
        raise UsageError(f"--subset {given['subset']}: the dataset {ds.path} has only {ds.count} images")
    opts = {**TRAIN_DEFAULTS, **spec.defaults, **{k: v for k, v in given.items() if v is not None}}
    name = ds.path.name
    run_dir = out or str(next_run_dir(runs, variant, name))
    common = dict(variant=variant, data=str(ds.path), run_dir=run_dir, dataset_name=name, channels=ds.channels, seed=seed)
    if spec.progressive:
        return _growth_config(opts, common, ds, want or ds.size, growth, steps, kimg, given.get("batch"))
    if growth["batch_schedule"] is not None:
        from gantool.train.progressive import fixed_batch  # noqa: PLC0415

        if given.get("batch") is not None:
            raise UsageError("--batch and --batch-schedule: give one of them")
        opts["batch"] = fixed_batch(growth["batch_schedule"], ds.size)
    wanted = _steps_for(steps, kimg, opts["batch"])
    opts["steps"] = wanted if wanted is not None else opts["steps"]
    return TrainConfig(size=ds.size, **common, **opts).validate()


def _growth_config(opts, common, ds, target, growth, steps, kimg, batch):
    """pggan: resolve the growth plan (phase lengths, batch per resolution, total steps)."""
    from gantool.config import TrainConfig  # noqa: PLC0415
    from gantool.models.pggan import levels_for  # noqa: PLC0415
    from gantool.train.progressive import batch_table, default_phase_kimg, format_table, plan, total_steps  # noqa: PLC0415

    if steps is not None:
        raise UsageError("--steps: pggan's length is its growth plan; use --kimg for the total (thousand images)")
    if kimg is not None and kimg <= 0:
        raise UsageError(f"--kimg: must be > 0, got {kimg}")
    levels_for(target)
    if ds.size < target:
        raise UsageError(f"--target {target}: the dataset {ds.path} is only {ds.size} px; prep it at {target}")
    table = batch_table(target, growth["batch_schedule"] or "", default_batch=batch)
    phase_default = default_phase_kimg(ds.count)
    fade = growth["fade_kimg"] if growth["fade_kimg"] is not None else phase_default
    stable = growth["stable_kimg"] if growth["stable_kimg"] is not None else phase_default
    phases = plan(target, fade, stable, table, kimg) if fade > 0 and stable > 0 else []
    opts = {**opts, "batch": table[target], "steps": max(1, total_steps(phases))}
    return TrainConfig(size=target, data_size=ds.size, fade_kimg=fade, stable_kimg=stable,
                       batch_schedule=format_table(table), total_kimg=kimg, **common, **opts).validate()


def _resume_config(resume, variant, given, data, out, steps, kimg, runtime):
    import dataclasses  # noqa: PLC0415

    from gantool.run.config import load_run_config  # noqa: PLC0415

    try:
        cfg = load_run_config(resume)
    except UsageError as e:
        raise UsageError(f"--resume: {e.message}") from None
    changed = [k for k, v in given.items() if v is not None]
    if data or out:
        changed += ["data" if data else "out"]
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise UsageError(f"--resume continues a run with its saved settings; {flags} cannot change (only --steps/--kimg)")
    if variant is not None and variant != cfg.variant:
        raise UsageError(f"VARIANT: {resume} is a {cfg.variant} run, not {variant}")
    cfg = dataclasses.replace(cfg, run_dir=str(resume), **runtime)  # --strategy/--grad-accum: how, not what
    if cfg.batch_schedule:  # pggan: a new --kimg moves the end of the plan
        if steps is not None:
            raise UsageError("--steps: pggan's length is its growth plan; use --kimg")
        if kimg is not None:
            from gantool.train.progressive import parse_batch_schedule, plan, total_steps  # noqa: PLC0415

            phases = plan(cfg.size, cfg.fade_kimg, cfg.stable_kimg, parse_batch_schedule(cfg.batch_schedule), kimg)
            cfg = dataclasses.replace(cfg, total_kimg=kimg, steps=max(1, total_steps(phases)))
        return cfg.validate()
    new_steps = _steps_for(steps, kimg, cfg.batch)
    if new_steps is not None and new_steps != cfg.steps:
        cfg = dataclasses.replace(cfg, steps=new_steps)
    return cfg.validate()


def _render(result, as_json: bool) -> None:
    if result.interrupted:
        console.error_line(f"interrupted at step {result.step}/{result.steps}; checkpoint saved; "
                           f"continue with: gantool train --resume {result.run_dir}")
    if as_json:
        console.emit_json({"command": "train", "ok": not result.interrupted, **result.to_dict()})
        return
    last = result.last
    rows = [
        ("run", result.run_dir),
        ("steps", f"{result.start_step} -> {result.step} of {result.steps}"),
        ("losses", f"d {last.get('d_loss', float('nan')):.4f}  g {last.get('g_loss', float('nan')):.4f}"),
        ("pfd8", f"{result.pfd8:.4f}" if result.pfd8 is not None else "-"),
        ("speed", f"{result.img_per_s:.1f} img/s over {result.seconds:.1f} s"),
        ("samples", result.samples or "-"),
        ("generator", result.generator or "-"),
        ("losses.png", result.losses_png or "-"),
    ]
    for note in result.notes:
        rows.append(("note", note))
    console.print_table("train", rows)
    sys.stdout.flush()

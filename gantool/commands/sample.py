"""`gantool sample SOURCE`: options -> SampleConfig -> run_sample -> summary."""

from __future__ import annotations

from typing import Optional

import typer

from gantool import console


def sample(
    source: str = typer.Argument(..., help="A run folder (its latest generator), a generator .keras file, or a checkpoint prefix runs/X/checkpoints/ckpt-N."),
    count: int = typer.Option(64, "--count", "-n", help="How many images (with --seed)."),
    seed: int = typer.Option(0, "--seed", help="Image i uses z drawn from (seed, i): the same seed gives the same images, byte for byte."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="One image per seed, e.g. 0-35,42 (instead of --count/--seed)."),
    zrange: Optional[float] = typer.Option(None, "--zrange", help="Models trained on uniform z: z ~ U(-R, R) (default 1 = the training range; the megapixel report used 0.4)."),
    truncation: Optional[float] = typer.Option(None, "--truncation", help="Models trained on normal z: redraw components with |z| > T."),
    psi: Optional[float] = typer.Option(None, "--psi", help="Models with a mapping network (stylegan2): truncation toward the mean w, w = w_avg + psi (w - w_avg); 1 = none, 0 = the mean image (0.7 is common)."),
    mix: Optional[str] = typer.Option(None, "--mix", help="Also write a style-mixing grid mix.png (models with a mapping network): the rows' seeds, e.g. 1-5, give the coarse styles."),
    mix_cols: Optional[str] = typer.Option(None, "--mix-cols", help="The mixing grid's column seeds, e.g. 10-14: they give the other (finer) styles."),
    mix_cutoff: Optional[int] = typer.Option(None, "--mix-cutoff", help="How many ws (4x4 first) come from the row (default: the ws up to 8x8, at most half of them)."),
    out: Optional[str] = typer.Option(None, "--out", help="Output folder. Default: RUN/samples/generated/<seed, count, range>."),
    npz: Optional[str] = typer.Option(None, "--npz", help="Also write all images to this .npz ('images': uint8 NHWC), streamed."),
    ema: Optional[bool] = typer.Option(None, "--ema/--no-ema", help="Use the EMA generator (default: when the run has one)."),
    batch: Optional[int] = typer.Option(None, "--batch", help="Images generated at a time (bounds memory; default 64 up to 256 px, 4 at 1024 px)."),
    resolution: Optional[int] = typer.Option(None, "--resolution", help="pggan: sample a completed stage, e.g. 64."),
    interpolate: Optional[int] = typer.Option(None, "--interpolate", help="Also write a latent walk through K points (walk.gif, walk.mp4)."),
    frames: int = typer.Option(12, "--frames", help="Walk frames between two points."),
    fps: int = typer.Option(12, "--fps", help="Walk frames per second."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the settings as JSON and stop."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the result on stdout, nothing else."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Generate images from a trained generator: PNGs, grid.png, optional .npz, latent walk and style-mixing grid."""
    from gantool.config import SampleConfig  # noqa: PLC0415  (loads every variant: not for --help)

    cfg = SampleConfig(source=source, out=out, count=count, seed=seed, seeds=seeds, zrange=zrange,
                       truncation=truncation, batch=batch, ema=ema, resolution=resolution, npz=npz,
                       interpolate=interpolate, frames=frames, fps=fps, psi=psi, mix=mix, mix_cols=mix_cols,
                       mix_cutoff=mix_cutoff).validate()
    if dry_run:
        console.dry_run("sample", cfg.to_dict(), as_json)
        return
    from gantool.sample_run import run_sample  # noqa: PLC0415

    with console.progress("sample", "img", enabled=not quiet) as cb:
        result = run_sample(cfg, progress=cb)
    if as_json:
        console.emit_json({"command": "sample", "ok": True, **result.to_dict()})
        return
    z = (f"U(-{result.zrange:g}, {result.zrange:g})" if result.zrange is not None else
         f"N(0, 1), |z| <= {result.truncation:g}" if result.truncation is not None else
         "U(-1, 1)" if result.latent == "uniform" else "N(0, 1)")
    console.print_table("sample", [
        ("images", f"{result.count} x {result.resolution} px in {result.out}"),
        ("grid", result.grid),
        ("z", z + (f", w truncated by psi {result.psi:g}" if result.psi is not None else "")),
        ("seeds", f"{result.seeds[0]}..{result.seeds[-1]}" if result.seeds else f"--seed {result.seed}"),
        ("generator", result.generator + (" (EMA)" if result.ema else "")),
        ("npz", result.npz or "-"),
        ("walk", ", ".join(result.walk) or "-"),
        ("mix", f"{result.mix['file']} ({len(result.mix['rows'])} x {len(result.mix['cols'])}, "
                f"{result.mix['cutoff']} of {result.mix['num_ws']} ws from the rows)" if result.mix else "-"),
        ("time", f"{result.seconds:.1f} s"),
    ])

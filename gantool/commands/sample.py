"""`gantool sample SOURCE`: options -> SampleConfig -> run_sample -> summary."""

from __future__ import annotations

from typing import Optional

import typer

from gantool import console
from gantool.config import SampleConfig


def sample(
    source: str = typer.Argument(..., help="A run folder (its latest generator), a generator .keras file, or a checkpoint prefix runs/X/checkpoints/ckpt-N."),
    count: int = typer.Option(64, "--count", "-n", help="How many images (with --seed)."),
    seed: int = typer.Option(0, "--seed", help="Image i uses z drawn from (seed, i): the same seed gives the same images, byte for byte."),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="One image per seed, e.g. 0-35,42 (instead of --count/--seed)."),
    zrange: Optional[float] = typer.Option(None, "--zrange", help="Models trained on uniform z: z ~ U(-R, R) (default 1 = the training range; the megapixel report used 0.4)."),
    truncation: Optional[float] = typer.Option(None, "--truncation", help="Models trained on normal z: redraw components with |z| > T."),
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
    """Generate images from a trained generator: PNGs, grid.png, optional .npz and latent walk."""
    cfg = SampleConfig(source=source, out=out, count=count, seed=seed, seeds=seeds, zrange=zrange,
                       truncation=truncation, batch=batch, ema=ema, resolution=resolution, npz=npz,
                       interpolate=interpolate, frames=frames, fps=fps).validate()
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
        ("z", z),
        ("seeds", f"{result.seeds[0]}..{result.seeds[-1]}" if result.seeds else f"--seed {result.seed}"),
        ("generator", result.generator + (" (EMA)" if result.ema else "")),
        ("npz", result.npz or "-"),
        ("walk", ", ".join(result.walk) or "-"),
        ("time", f"{result.seconds:.1f} s"),
    ])

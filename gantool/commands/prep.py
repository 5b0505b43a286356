"""`gantool prep SRC`: options -> PrepConfig -> run_prep -> summary."""

from __future__ import annotations

from typing import Optional

import typer

from gantool import console


def prep(
    src: str = typer.Argument(..., help="Folder of photos (scanned recursively: jpg jpeg png webp bmp tif tiff, any case) or builtin:digits."),
    out: Optional[str] = typer.Option(None, "--out", help="Output dataset folder. Default: data/<name>_<size>."),
    size: int = typer.Option(256, "--size", help="Output side in pixels (any N >= 8, e.g. 192, 256)."),
    channels: Optional[int] = typer.Option(None, "--channels", help="3 (RGB) or 1 (grey). Default: 3 for photos, 1 for builtin:digits."),
    crop: Optional[str] = typer.Option(None, "--crop", help="face (MTCNN; default for folders), center (square centre crop) or none (pad to square; default for digits)."),
    min_confidence: float = typer.Option(0.95, "--min-confidence", help="Keep faces MTCNN scores at least this confident."),
    min_face: int = typer.Option(40, "--min-face", help="Keep faces whose detected box is at least this many px (shorter side, original photo). Smaller values make detection slower."),
    faces: str = typer.Option("largest", "--faces", help="largest: one crop per photo; all: one crop per face."),
    margin: float = typer.Option(0.25, "--margin", help="Border around the face, as a fraction of the face box's longer side, added on each edge."),
    align: bool = typer.Option(False, "--align/--no-align", help="Rotate each face so the eyes are level (uses MTCNN's eye landmarks)."),
    pad: str = typer.Option("reflect", "--pad", help="How to fill a crop that leaves the photo: reflect, edge or black."),
    detect_size: int = typer.Option(640, "--detect-size", help="Detect faces on a copy shrunk to this longest side; crops come from the full-resolution photo."),
    batch: int = typer.Option(1, "--batch", help="Photos per MTCNN call (batching was not faster on a 2-core CPU; see docs/benchmarks.md)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes. Default: all cores."),
    shard_size: Optional[int] = typer.Option(None, "--shard-size", help="Images per .npz shard. Default: about 256 MB per shard."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing dataset at --out (atomically)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved settings as JSON and stop."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the result on stdout, nothing else."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Crop faces (or centre/pad) from photos, resize them and pack them into .npz shards."""
    from gantool.config import PrepConfig, default_name, default_workers  # noqa: PLC0415  (loads every variant: not for --help)

    builtin = src.startswith("builtin:")
    ch = channels if channels is not None else (1 if builtin else 3)
    mode = crop if crop is not None else ("none" if builtin else "face")
    cfg = PrepConfig(
        src=src,
        out=out or f"data/{default_name(src)}_{size}",
        size=size,
        channels=ch,
        crop=mode,
        min_confidence=min_confidence,
        min_face=min_face,
        faces=faces,
        margin=margin,
        align=align,
        pad=pad,
        detect_size=detect_size,
        batch=batch,
        workers=workers if workers is not None else default_workers(),
        shard_size=shard_size,
        overwrite=overwrite,
    ).resolved()
    if dry_run:
        console.dry_run("prep", cfg.to_dict(), as_json)
        return

    from gantool.prep.run import run_prep

    with console.progress("prep", "files", enabled=not quiet) as cb:
        result = run_prep(cfg, progress=cb)
    if as_json:
        console.emit_json({"command": "prep", "ok": True, **result.to_dict()})
        return
    skipped = ", ".join(f"{k} {v}" for k, v in result.skipped.items()) or "none"
    console.print_table(
        "prep",
        [
            ("dataset", result.out),
            ("found", f"{result.found} image files ({result.ignored} other files ignored)"),
            ("packed", f"{result.count} images {cfg.size}x{cfg.size}x{cfg.channels} in {result.shards} shard(s)"),
            ("skipped", skipped),
            ("enlarged", f"{result.enlarged} crops were upscaled to {cfg.size} px"),
            ("time", f"{result.seconds:.1f} s, {result.images_per_s:.1f} images/s"),
        ],
    )

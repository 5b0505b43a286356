"""`gantool export SOURCE --format F`: the generator alone, checked against Keras."""

from __future__ import annotations

from typing import Optional

import typer

from gantool import console


def export(
    source: str = typer.Argument(..., help="A run folder, a generator .keras file, or a checkpoint prefix runs/X/checkpoints/ckpt-N."),
    fmt: str = typer.Option("savedmodel", "--format", "-f", help="savedmodel, tflite or onnx (onnx: pip install 'gantool[export]')."),
    out: Optional[str] = typer.Option(None, "--out", help="Output path. Default: RUN/export/generator[...].{savedmodel folder,tflite,onnx}."),
    resolution: Optional[int] = typer.Option(None, "--resolution", help="pggan: export a completed stage."),
    ema: Optional[bool] = typer.Option(None, "--ema/--no-ema", help="Export the EMA generator (default: when the run has one)."),
    psi: Optional[float] = typer.Option(None, "--psi", help="Models with a mapping network (stylegan2): bake truncation toward the mean w into the export."),
    tolerance: int = typer.Option(1, "--tolerance", help="Largest allowed difference from Keras, in 0-255 levels, on 16 fixed z."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the result on stdout, nothing else."),
) -> None:
    """Export the generator (z in, uint8 NHWC images out) and verify it against Keras."""
    from gantool.export import export_generator  # noqa: PLC0415

    result = export_generator(source, fmt, out, resolution, ema, tolerance, psi=psi)
    if as_json:
        console.emit_json({"command": "export", "ok": True, **result.to_dict()})
        return
    console.print_table("export", [
        ("format", result.format),
        ("path", result.path),
        ("model", f"z[{result.z_dim}] -> uint8 {result.resolution}x{result.resolution}x{result.channels}"
                  + (f", psi {result.psi:g} baked in" if result.psi is not None else "")),
        ("check", f"max difference {result.max_diff} levels over {result.checked_images} images "
                  f"({result.mismatched_pixels} pixels differ; tolerance {result.tolerance})"),
        ("size", f"{result.bytes / 1e6:.2f} MB"),
        ("time", f"{result.seconds:.1f} s"),
    ])

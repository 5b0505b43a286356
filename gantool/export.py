"""Export the generator alone: input z (float32, [N, z_dim]), output images uint8 NHWC with the
[-1, 1] -> [0, 255] scaling built in. Each export is run on fixed z right after it is written
and compared with Keras; an export that differs by more than the tolerance (in 0-255 levels)
is not kept. Generators with a mapping network (stylegan2) are exported with their per-pixel
noise fixed (the stored maps) and, with --psi, truncation toward the mean w baked in
(gantool.run.styles); psi is not an input.

All three go through Keras' own exporters on a wrapper model z -> G -> ToUint8:
- savedmodel: a TF SavedModel folder (`tf.saved_model.load(p).serve(z)`; signature serve).
- tflite: a TFLite/LiteRT flatbuffer (phones; the PGGAN report shipped an Android app), dynamic batch.
- onnx: ONNX via tf2onnx, checked with onnxruntime. Needs `pip install 'gantool[export]'`.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gantool.errors import RunError, UsageError
from gantool.run.generator import load_generator
from gantool.run.styles import fix_noise, with_psi
from gantool.sample import z_for
from gantool.tfquiet import import_tf, silenced_stderr

FORMATS = ("savedmodel", "tflite", "onnx")
SUFFIX = {"savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}


@dataclass
class ExportResult:
    format: str
    path: str
    generator: str
    z_dim: int
    resolution: int
    channels: int
    max_diff: int
    mismatched_pixels: int
    checked_images: int
    tolerance: int
    bytes: int
    seconds: float
    psi: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _wrapped(model, z_dim: int):
    """z -> uint8 images, as one Keras model (Keras' own exporters freeze its variables)."""
    import keras  # noqa: PLC0415

    from gantool.models.layers import ToUint8  # noqa: PLC0415

    z = keras.Input((z_dim,), name="z")
    return keras.Model(z, ToUint8(name="images")(model(z, training=False)), name="generator_uint8")


def _quiet():
    """Keras' exporters print to stdout and TF's converters to fd 2: keep --json clean."""
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(silenced_stderr())
    return stack


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _load(source: str, resolution: int | None, ema: bool | None, psi: float | None):
    """The generator as exported: per-pixel noise (if any) fixed to its stored maps, truncation
    toward the mean w baked in with psi."""
    if psi is not None and not math.isfinite(psi):
        raise UsageError(f"--psi: must be a finite number, got {psi}")
    gen = load_generator(source, resolution, ema)
    fix_noise(gen)
    return with_psi(gen, psi)


def _default_out(gen, fmt: str, psi: float | None) -> Path:
    """RUN/export/generator[_ema][-psiP].EXT (or ./export/ for a lone .keras file)."""
    base = Path(gen.run_dir) / "export" if gen.run_dir else Path("export")
    stem = Path(gen.file).name.replace(".keras", "") if Path(gen.file).suffix == ".keras" else f"generator-{gen.resolution}px"
    return base / (stem + (f"-psi{psi:g}" if psi is not None else "") + SUFFIX[fmt])


def _export_and_run(tf, fmt: str, wrapped, built: Path, z: np.ndarray) -> np.ndarray:
    """Write `wrapped` to `built` in `fmt`, load it back with that format's runtime, run it on z."""
    with _quiet():
        if fmt == "savedmodel":
            wrapped.export(str(built), format="tf_saved_model")
            loaded = tf.saved_model.load(str(built))  # kept alive while it runs: it owns the variables
            return np.asarray(loaded.serve(tf.constant(z)))
        if fmt == "tflite":
            wrapped.export(str(built), format="litert")
            return _run_tflite(tf, built, z)
        wrapped.export(str(built), format="onnx")
        return _run_onnx(built, z)


def export_generator(source: str, fmt: str, out: str | None = None, resolution: int | None = None,
                     ema: bool | None = None, tolerance: int = 1, check: int = 16, seed: int = 0,
                     psi: float | None = None) -> ExportResult:
    if fmt not in FORMATS:
        raise UsageError(f"--format: must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if tolerance < 0:
        raise UsageError(f"--tolerance: must be >= 0, got {tolerance}")
    t0 = time.monotonic()
    tf = import_tf()
    if fmt == "onnx":
        try:
            with silenced_stderr():
                import onnxruntime  # noqa: F401,PLC0415
                import tf2onnx  # noqa: F401,PLC0415
        except ImportError:
            raise UsageError("--format onnx needs tf2onnx and onnxruntime: pip install 'gantool[export]'") from None
    gen = _load(source, resolution, ema, psi)
    channels = int(gen.model.output_shape[-1])
    dest = Path(out) if out is not None else _default_out(gen, fmt, psi)
    dest.parent.mkdir(parents=True, exist_ok=True)
    z = np.stack([z_for(seed, i, gen.z_dim, gen.latent) for i in range(check)])
    want = gen(z)
    wrapped = _wrapped(gen.model, gen.z_dim)
    wrapped(z[:1])  # built and called once: the ONNX exporter insists
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        built = work / ("model" + SUFFIX[fmt] if fmt != "savedmodel" else "savedmodel")
        got = _export_and_run(tf, fmt, wrapped, built, z)
        diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
        if got.shape != want.shape or got.dtype != np.uint8:
            raise RunError(f"{fmt} export returns {got.shape} {got.dtype}, Keras {want.shape} uint8")
        max_diff, mismatched = int(diff.max()), int((diff > 0).sum())
        if max_diff > tolerance:
            raise RunError(f"{fmt} export differs from Keras by up to {max_diff} levels on {check} fixed z "
                           f"(tolerance {tolerance}); not kept")
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            os.replace(dest, old)
            os.replace(built, dest)
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        else:
            os.replace(built, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportResult(format=fmt, path=str(dest), generator=gen.file, z_dim=gen.z_dim, resolution=gen.resolution,
                        channels=channels, max_diff=max_diff, mismatched_pixels=mismatched, checked_images=check,
                        tolerance=tolerance, bytes=_size(dest), seconds=time.monotonic() - t0, psi=psi)


def tflite_interpreter(tf, path: Path):
    """LiteRT's interpreter (ai-edge-litert, in the [export] extra) or TF's deprecated one."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415
    except ImportError:
        Interpreter = tf.lite.Interpreter  # noqa: N806
    return Interpreter(model_path=str(path))


def _run_tflite(tf, path: Path, z: np.ndarray) -> np.ndarray:
    interp = tflite_interpreter(tf, path)
    inp = interp.get_input_details()[0]
    interp.resize_tensor_input(inp["index"], list(z.shape))
    interp.allocate_tensors()
    interp.set_tensor(inp["index"], z.astype(np.float32))
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def _run_onnx(path: Path, z: np.ndarray) -> np.ndarray:
    import onnxruntime as ort  # noqa: PLC0415

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: z.astype(np.float32)})[0]

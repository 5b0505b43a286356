"""`gantool export`: each format round-trips numerically on a tiny model, checked here
independently of the command's own check."""

import shutil

import numpy as np
import pytest

from conftest import run_cli, run_in_process
from gantool.sample import z_for
from tfhelpers import tf


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("exportws")
    assert run_in_process("prep", "builtin:digits", "--size", 16, "--channels", 3, "-q", cwd=root).rc == 0
    r = run_in_process("train", "dcgan", "--steps", 10, "--filters", 8, "--batch", 16, "--out", "runs/dc", "-q", cwd=root)
    assert r.rc == 0, r
    return root


def keras_images(run, z):
    tf()
    import keras
    g = keras.models.load_model(run / "runs/dc/checkpoints/generator.keras", compile=False)
    from gantool.images import to_uint8
    return to_uint8(g(z, training=False))


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite", "onnx"])
def test_export_round_trips(run, fmt):
    res = run_in_process("export", "runs/dc", "--format", fmt, "--json", cwd=run)
    assert res.rc == 0, res
    out = res.json
    assert out["max_diff"] <= 1 and out["checked_images"] == 16 and out["resolution"] == 16 and out["channels"] == 3
    path = run / out["path"]
    z = np.stack([z_for(7, i, 100, "uniform", 0.5) for i in range(5)])
    want = keras_images(run, z)
    t = tf()
    if fmt == "savedmodel":
        loaded = t.saved_model.load(str(path))
        got = np.asarray(loaded.serve(t.constant(z)))
    elif fmt == "tflite":
        from gantool.export import tflite_interpreter
        it = tflite_interpreter(t, path)
        inp = it.get_input_details()[0]
        it.resize_tensor_input(inp["index"], [5, 100])
        it.allocate_tensors()
        it.set_tensor(inp["index"], z)
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
    else:
        import onnxruntime as ort
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = sess.run(None, {sess.get_inputs()[0].name: z})[0]
    assert got.dtype == np.uint8 and got.shape == (5, 16, 16, 3)
    assert np.abs(got.astype(int) - want).max() <= 1


def test_pggan_stage_exports_with_its_custom_layers(tmp_path, pggan8):
    root = tmp_path
    shutil.copytree(pggan8, root / "pg")  # the session's tiny 4 -> 8 px pggan run (conftest.PGGAN8_ARGS)
    res = run_in_process("export", "pg", "--format", "tflite", "--resolution", 4, "--json", cwd=root)
    assert res.rc == 0 and res.json["resolution"] == 4 and res.json["max_diff"] <= 1, res


def test_bad_export_input(run, monkeypatch):
    res = run_cli("export", "runs/dc", "--format", "coreml", cwd=run)
    assert res.rc == 2 and "--format" in res.stderr
    res = run_in_process("export", "nowhere", cwd=run)  # in-process: this refusal comes after importing TensorFlow
    assert res.rc == 2 and "no checkpoint" in res.stderr
    res = run_in_process("export", "runs/dc", "--psi", 0.7, cwd=run)  # truncation toward w needs a mapping network
    lines = res.stderr.strip().splitlines()
    assert res.rc == 2 and len(lines) == 1 and "--psi: dcgan has no mapping network" in lines[0], res
    from gantool.errors import UsageError
    from gantool.export import export_generator
    import sys
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # as if the [export] extra were not installed
    with pytest.raises(UsageError, match=r"gantool\[export\]"):
        export_generator(str(run / "runs/dc"), "onnx")


def test_an_export_over_the_tolerance_is_not_kept_and_exits_1(run, monkeypatch, capsys):
    """The exported model is made to differ from Keras by 3 levels (its interpreter's output is
    shifted; the real export is within 1 level, so the difference is 2 to 4): with --tolerance 1
    nothing new is kept -- an earlier export at the same path stays byte for byte -- and the
    command exits 1 with one line; --tolerance 4 keeps it."""
    import gantool.export as ex
    from gantool.cli import main

    real = ex._run_tflite
    def shifted(tf, path, z):  # every pixel 3 levels away from what the model computes
        x = real(tf, path, z).astype(int)
        return np.where(x < 128, x + 3, x - 3).astype(np.uint8)

    monkeypatch.setattr(ex, "_run_tflite", shifted)
    dest = run / "tol.tflite"
    dest.write_bytes(b"an earlier export")
    rc = main(["export", str(run / "runs/dc"), "--format", "tflite", "--out", str(dest), "--tolerance", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "differs from Keras by up to" in err[0] and "not kept" in err[0], err
    assert dest.read_bytes() == b"an earlier export"
    assert [p.name for p in run.iterdir() if p.name.startswith(".tol.tflite")] == []  # no scratch left behind
    rc = main(["export", str(run / "runs/dc"), "--format", "tflite", "--out", str(dest), "--tolerance", "4"])
    assert rc == 0 and dest.read_bytes() != b"an earlier export"

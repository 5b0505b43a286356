"""The example scripts run as they are, with gantool on PATH (as `make demo` arranges)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from photos import write_face_photo

from gantool.data.shards import open_dataset

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script, *args, cwd, env=None):
    e = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **(env or {}))
    return subprocess.run(["bash", str(EXAMPLES / script), *map(str, args)], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_digits_example(tmp_path):
    r = _run("digits.sh", cwd=tmp_path, env={"SIZE": "16", "STEPS": "30"})
    assert r.returncode == 0, r.stderr
    out = tmp_path / "demo-out"
    summary = json.loads((out / "prep.json").read_text())
    assert summary["ok"] and summary["count"] == 1797
    assert open_dataset(out / "digits_16").load_all().shape == (1797, 16, 16, 1)
    train = json.loads((out / "train.json").read_text())
    assert train["ok"] and train["step"] == 30 and train["run_dir"] == str(Path("demo-out") / "dcgan")
    for f in ("samples/final.png", "losses.png", "checkpoints/generator_ema.keras", "config.json"):
        assert (out / "dcgan" / f).is_file(), f
    cfg = json.loads((out / "dcgan" / "config.json").read_text())["config"]
    assert cfg["d_bias"] is True and cfg["out_gain"] == 1.1 and cfg["kernel"] == 5  # the best-measured at batch 64
    assert json.loads((out / "sample.json").read_text())["count"] == 100 and (out / "samples" / "grid.png").is_file()
    assert json.loads((out / "export.json").read_text())["max_diff"] <= 1 and (out / "generator.tflite").is_file()
    ev = json.loads((out / "eval.json").read_text())
    assert set(ev["metrics"]) == {"msssim", "nn"} and ev["source"]["images"] == 1000
    assert (out / "dcgan/eval/demo/report.html").is_file() and (out / "dcgan/eval/demo/nn.png").is_file()
    assert json.loads((out / "quiz.json").read_text())["images"] == 40 and (out / "quiz.html").is_file()
    r = _run("digits.sh", cwd=tmp_path, env={"SIZE": "16", "STEPS": "10"})  # runs again over its own output
    assert r.returncode == 0 and json.loads((out / "train.json").read_text())["step"] == 10, r.stderr


@pytest.mark.slow
def test_faces_example(tmp_path):
    r = _run("faces.sh", cwd=tmp_path)
    assert r.returncode == 2 and "usage" in r.stderr
    photos = tmp_path / "my photos"
    photos.mkdir()
    write_face_photo(photos / "one.jpg", 0.8, 0, (500, 600), (300, 250))
    write_face_photo(photos / "two.png", 0.7, 10, (500, 500), (250, 250))
    r = _run("faces.sh", photos, 48, cwd=tmp_path, env={"ALIGN": "1"})
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "data" / "prep.json").read_text())
    assert summary["count"] == 2
    ds = open_dataset(tmp_path / "data" / "my photos_48")
    assert ds.load_all().shape == (2, 48, 48, 3) and ds.manifest["settings"]["align"] is True

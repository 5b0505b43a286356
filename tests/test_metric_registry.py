"""Metrics are registered, not named by eval: a metric registered from this file (one Metric,
one register() call) is accepted by `--metrics`, computed from what it declares it needs, and
appears in report.json, report.html and metrics.jsonl. Also: eval --fake decodes through prep's
decoder, so a decompression-bomb header is refused as prep refuses it."""

import json

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from gantool import cli
from gantool.eval.metric import METRICS, Metric, register
from test_imageio import _png_with_header_size

MARK = "toy-metric-section-7f3a"


def _compute(x, cfg) -> dict:
    return {"value": float(x.fake_ms.mean()), "real": float(x.real_ms.mean()), "images": int(len(x.fake_ms))}


@pytest.fixture()
def toy_metric():
    m = register(Metric("toymean", "mean pixel (toy)", frozenset({"pixels"}), _compute,
                        lambda r: f"mean {r['value']:.2f} vs real {r['real']:.2f}", log_fields=(("real", "real_value"),),
                        html=lambda r, files: f"<h2 id={MARK}>Toy</h2><p>{r['images']} images</p>"))
    yield m
    METRICS._items.pop("toymean")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("toymetric")
    assert run_cli("prep", "builtin:digits", "--size", 16, "--out", root / "digits_16", "-q").rc == 0
    return root / "digits_16"


def test_a_metric_registered_from_outside_is_used_end_to_end(toy_metric, data, tmp_path, capsys):
    fake = np.random.default_rng(0).integers(0, 256, (12, 16, 16, 1), dtype=np.uint8)
    np.savez(tmp_path / "fake.npz", images=fake)
    out = tmp_path / "report"
    rc = cli.main(["eval", "--fake", str(tmp_path / "fake.npz"), "--data", str(data), "--metrics", "toymean",
                   "--real-count", "30", "--out", str(out), "--json"])
    assert rc == 0, capsys.readouterr()
    printed = json.loads(capsys.readouterr().out)
    r = printed["metrics"]["toymean"]
    assert r["value"] == pytest.approx(float(fake.mean())) and r["images"] == 12
    assert r["summary"] == f"mean {r['value']:.2f} vs real {r['real']:.2f}"
    doc = json.loads((out / "report.json").read_text())
    assert doc["metrics"]["toymean"]["value"] == r["value"] and list(doc["metrics"]) == ["toymean"]
    page = (out / "report.html").read_text()
    assert MARK in page and "mean pixel (toy)" in page and r["summary"] in page
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(x["metric"], x["value"], x["real_value"]) for x in lines] == [("toymean", r["value"], r["real"])]


def test_an_unregistered_metric_is_refused(data, tmp_path):
    np.savez(tmp_path / "fake.npz", images=np.zeros((4, 16, 16, 1), np.uint8))
    res = run_cli("eval", "--fake", tmp_path / "fake.npz", "--data", data, "--metrics", "toymean")
    assert res.rc == 2 and "unknown metric 'toymean'" in res.stderr


def test_eval_fake_refuses_a_decompression_bomb_as_prep_does(data, tmp_path):
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((16, 16), 40 * i, np.uint8)).save(folder / f"img-{i}.png")
    (folder / "img-9-bomb.png").write_bytes(_png_with_header_size(20000, 20000))
    res = run_cli("eval", "--fake", folder, "--data", data, "--metrics", "msssim", "--pairs", 4, "-q")
    assert res.rc == 1, res
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "img-9-bomb.png" in err[0] and "too_large" in err[0] and "Traceback" not in res.stderr

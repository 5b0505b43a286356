"""`gantool eval` on a real tiny run and real digits (through `gantool.cli.main` in this process;
the offline message and the quiz page also through the entry point): the report files,
the metrics.jsonl lines, the real-feature cache, --fake folders and arrays, the offline message,
bad input, and the quiz page's JavaScript run in V8."""

import base64
import json
import re
import shutil

import numpy as np
import pytest

from conftest import copy_digits16, run_cli, run_in_process


@pytest.fixture(scope="module")
def ws(tmp_path_factory, digits16, dcgan16):
    root = tmp_path_factory.mktemp("evalws")
    copy_digits16(digits16, root / "data/digits_16")
    shutil.copytree(dcgan16, root / "runs/dc")  # the session's tiny dcgan run (conftest.DCGAN16_ARGS, with EMA)
    from gantool.data.shards import open_dataset

    real = open_dataset(root / "data" / "digits_16").load_all()
    return root, real


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Keras InceptionV3 (no top) weights with random values: the real --inception .h5 path, no download."""
    from tfhelpers import tf

    tf()
    import keras

    keras.utils.set_random_seed(0)
    net = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg", input_shape=(299, 299, 3))
    path = tmp_path_factory.mktemp("inception") / "random_inception_v3_notop.weights.h5"
    net.save_weights(str(path))
    return path


def env_for(tmp_path):
    return {"GANTOOL_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path), "GANTOOL_INCEPTION": ""}


def test_eval_run_without_network_writes_report_lines_and_grids(ws, tmp_path):
    root, real = ws
    r = run_in_process("eval", "runs/dc", "--metrics", "msssim,nn", "--count", 64, "--pairs", 400, "--nn-show", 4,
                "--json", "-q", cwd=root, env=env_for(tmp_path))
    assert r.rc == 0, r
    out = r.json
    assert out["command"] == "eval" and out["network"] is None
    ms, nnm = out["metrics"]["msssim"], out["metrics"]["nn"]
    assert 0 < ms["fake"] < 1 and 0 < ms["real"] < 1 and ms["size"] == 16 and ms["pairs"] == 400
    assert nnm["space"] == "pixel" and nnm["generated"] == 64 and len(nnm["shown"]) == 4
    # the shown neighbours really are the nearest training images, in 16 px pixel space
    from gantool.eval.nn import pixel_features
    from gantool.run.generator import load_generator
    from gantool.sample import z_for

    gen = load_generator(root / "runs/dc")
    fake0 = gen(z_for(0, 0, gen.z_dim, gen.latent)[None])
    d = np.sqrt(((pixel_features(real) - pixel_features(fake0)) ** 2).sum(1))
    assert nnm["shown"][0]["dataset_index"][0] == int(d.argmin())
    assert nnm["shown"][0]["distances"][0] == pytest.approx(float(d.min()), rel=1e-4)

    rep = root / "runs/dc/eval/generator_ema-n64-seed0"
    assert out["out"] == str(rep.relative_to(root)) or out["out"] == str(rep)
    doc = json.loads((rep / "report.json").read_text())
    assert doc["kind"] == "gantool.eval" and doc["metrics"]["msssim"]["fake"] == ms["fake"]
    assert doc["source"]["step"] == 20 and doc["settings"]["count"] == 64
    import cv2

    grid = cv2.imread(str(rep / "nn.png"), cv2.IMREAD_UNCHANGED)
    assert grid.shape[0] == (4 * (16 + 2) + 2) * 4  # 4 rows of 16 px, enlarged 4x
    html = (rep / "report.html").read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 3  # samples, losses, nn
    lines = [json.loads(x) for x in (root / "runs/dc/metrics.jsonl").read_text().splitlines()]
    ev = [x for x in lines if x.get("kind") == "eval"]
    assert [x["metric"] for x in ev[-2:]] == ["msssim", "nn"] and ev[-1]["step"] == 20 and ev[-1]["count"] == 64
    assert ev[-2]["value"] == ms["fake"] and ev[-2]["real_value"] == ms["real"]
    # a training resume keeps eval lines of steps it restores
    from gantool.run.metrics import MetricsLog

    MetricsLog(root / "runs/dc/metrics.jsonl").truncate_after(20)
    assert sum(1 for x in MetricsLog(root / "runs/dc/metrics.jsonl").read() if x.get("kind") == "eval") == len(ev)


def test_eval_fake_arrays_and_folders_with_a_network_file_and_the_cache(ws, weights, tmp_path):
    root, real = ws
    r = np.random.default_rng(0)
    pick = r.permutation(len(real))
    np.savez(tmp_path / "realish.npz", images=real[pick[:24]])
    np.savez(tmp_path / "noise.npz", images=r.integers(0, 256, (24, 16, 16, 1), dtype=np.uint8))
    folder = tmp_path / "pngs"
    folder.mkdir()
    import cv2

    for i, img in enumerate(real[pick[:24]]):
        cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.resize(np.repeat(img, 3, -1), (32, 32), interpolation=cv2.INTER_NEAREST))
    common = ["--data", root / "data/digits_16", "--inception", weights, "--real-count", 40,
              "--metrics", "fid,kid,pr,nn", "--kid-subsets", 10, "--kid-subset-size", 12, "--json", "-q"]
    env = env_for(tmp_path)
    a = run_in_process("eval", "--fake", tmp_path / "realish.npz", *common, env=env)
    assert a.rc == 0, a
    a = a.json
    assert a["network"]["name"].startswith("keras-inceptionv3") and a["network"]["comparable"] is False
    assert a["data"]["real_features"] == "computed" and a["data"]["images"] == 40
    assert len(list((tmp_path / "cache/stats").glob("real-*.npz"))) == 1
    b = run_in_process("eval", "--fake", tmp_path / "noise.npz", *common, env=env)
    assert b.rc == 0, b
    b = b.json
    assert b["data"]["real_features"] == "cache"
    assert b["metrics"]["fid"]["value"] > 3 * a["metrics"]["fid"]["value"]
    assert b["metrics"]["kid"]["value"] > a["metrics"]["kid"]["value"]
    assert a["metrics"]["pr"]["precision"] > 0.5 and a["metrics"]["pr"]["recall"] > 0.3
    assert b["metrics"]["pr"]["precision"] < a["metrics"]["pr"]["precision"]
    assert a["metrics"]["nn"]["space"] == "inception"
    # the same images as 32 px RGB PNGs are conformed to the dataset (16 px grey): the same scores
    c = run_in_process("eval", "--fake", folder, *common, env=env)
    assert c.rc == 0, c
    c = c.json
    assert c["metrics"]["fid"]["value"] == pytest.approx(a["metrics"]["fid"]["value"], rel=1e-3)
    assert any("resized" in n for n in c["notes"]) and c["source"]["native_size"] == 32
    assert (tmp_path / "pngs-eval/report.json").is_file() and (tmp_path / "pngs-eval/metrics.jsonl").is_file()


def test_eval_with_the_graph_file_interface_records_the_network(ws, tmp_path):
    """--inception FILE.pb: the 2015 graph's loading path (op rewrite, ExpandDims:0 -> pool_3:0)
    on a small graph of the same interface; the report names the network and its sha256."""
    from test_eval_features import fake_inception_graph

    from gantool.atomic import sha256_file

    root, real = ws
    pb = tmp_path / "classify_image_graph_def.pb"
    fake_inception_graph(pb)
    np.savez(tmp_path / "same.npz", images=real[:64])
    r = run_in_process("eval", "--fake", tmp_path / "same.npz", "--data", root / "data/digits_16", "--metrics", "fid,kid,pr",
                "--real-count", 200, "--kid-subsets", 5, "--kid-subset-size", 50, "--json", "-q",
                env={**env_for(tmp_path), "GANTOOL_INCEPTION": str(pb)})
    assert r.rc == 0, r
    net = r.json["network"]
    assert net["name"] == "inception-2015-12-05 (graph)" and net["comparable"] is False  # parses, but not the 2015 structure
    assert net["bytes"] == pb.stat().st_size and any(not c["ok"] for c in net["checks"])
    assert net["sha256"] == sha256_file(pb) and net["source"] == str(pb)
    assert 0 <= r.json["metrics"]["fid"]["value"] < 50


def test_eval_copies_of_the_training_set_are_flagged(ws, tmp_path):
    root, real = ws
    np.savez(tmp_path / "copies.npz", images=real[:50])
    r = run_in_process("eval", "--fake", tmp_path / "copies.npz", "--data", root / "data/digits_16", "--metrics", "nn,msssim",
                "--pairs", 300, "--json", "-q", env=env_for(tmp_path))
    assert r.rc == 0, r
    nnm = r.json["metrics"]["nn"]
    assert nnm["ratio"] < 0.05 and nnm["near_copies"] == 1.0 and nnm["fake_to_real"]["median"] < 1e-6


def test_eval_offline_without_network_says_what_to_put_where(ws, tmp_path):
    root, _ = ws
    r = run_cli("eval", "runs/dc", "--count", 8, cwd=root, env=env_for(tmp_path))
    assert r.rc == 2 and "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()
    assert len(line) == 1 and "classify_image_graph_def.pb" in line[0] and "--inception" in line[0]
    assert str(tmp_path / ".cache/gantool/classify_image_graph_def.pb") in line[0]
    assert not (root / "runs/dc/eval/generator_ema-n8-seed0").exists()


@pytest.mark.parametrize("args,needle", [
    pytest.param(["--fake", "nowhere"], "--fake: nowhere is neither", marks=pytest.mark.entry_point),
    (["--fake", "data"], "--data"),
    (["runs/dc", "--fake", "data"], "not both"),
    pytest.param(["runs/dc", "--metrics", "fid,is"], "unknown metric 'is'", marks=pytest.mark.entry_point),
    (["runs/dc", "--count", 1], "--count"),
    (["runs/nope", "--metrics", "nn"], "no checkpoint at runs/nope"),
    (["runs/dc", "--metrics", "nn", "--data", "runs"], "no dataset"),
    (["--fake", "runs/dc/checkpoints", "--data", "data/digits_16", "--metrics", "nn"], "no image files"),
    (["--fake", "one.npz", "--data", "data/digits_16", "--metrics", "nn"], "at least 2"),
    pytest.param(["--fake", "floats.npz", "--data", "data/digits_16", "--metrics", "nn"], "expected uint8",
                 marks=pytest.mark.entry_point),
    (["runs/dc", "--metrics", "nn", "--truncation", 1], "--truncation: this model was trained on uniform z"),
    (["quiz"], "give a RUN"),
    (["quiz", "runs/dc", "--count", 0], "--count"),
])
def test_eval_bad_input_exits_2_with_one_line(ws, cli, args, needle):
    root, _ = ws
    np.savez(root / "floats.npz", images=np.zeros((4, 8, 8, 1), np.float32))
    np.savez(root / "one.npz", images=np.zeros((1, 8, 8, 1), np.uint8))
    r = cli("eval", *args, cwd=root)
    assert r.rc == 2, r
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


DOM_STUB = """
var _kv = {};
var localStorage = {getItem: k => (k in _kv ? _kv[k] : null), setItem: (k, v) => { _kv[k] = String(v); },
                    removeItem: k => { delete _kv[k]; }};
var els = {};
function el(id) {
  if (!els[id]) els[id] = {id: id, textContent: '', innerHTML: '', value: '', disabled: false, className: '',
    style: {}, querySelectorAll: () => [], classList: {toggle: () => {}, remove: () => {}}};
  return els[id];
}
var document = {getElementById: el, querySelectorAll: () => []};
var window = {scrollTo: () => {}};
function atob(s) {
  const t = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '', bits = 0, n = 0;
  for (const c of s) { if (c === '=') break; bits = (bits << 6) | t.indexOf(c); n += 6;
    if (n >= 8) { n -= 8; out += String.fromCharCode((bits >> n) & 255); } }
  return out;
}
"""


def test_quiz_page_is_offline_and_its_script_counts_realness(ws, tmp_path):
    root, real = ws
    np.savez(tmp_path / "g.npz", images=np.random.default_rng(5).integers(0, 256, (10, 16, 16, 1), dtype=np.uint8))
    r = run_cli("eval", "quiz", "--fake", tmp_path / "g.npz", "--data", root / "data/digits_16", "--count", 6,
                "--out", tmp_path / "q/quiz.html", "--json")
    assert r.rc == 0, r
    assert r.json["images"] == 12 and r.json["real"] == 6 and r.json["generated"] == 6
    page = (tmp_path / "q/quiz.html").read_text()
    key = json.loads((tmp_path / "q/quiz-key.json").read_text())
    assert "http://" not in page and "https://" not in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 12
    labels = json.loads(base64.b64decode(re.search(r'atob\("([^"]+)"\)', page).group(1)))
    assert labels == [x["kind"] for x in key["images"]] and sorted(labels) == ["generated"] * 6 + ["real"] * 6
    assert labels != ["generated"] * 6 + ["real"] * 6 and labels != ["real"] * 6 + ["generated"] * 6  # shuffled
    # same settings, same page (habit 6)
    again = run_in_process("eval", "quiz", "--fake", tmp_path / "g.npz", "--data", root / "data/digits_16", "--count", 6,
                    "--out", tmp_path / "q2.html")
    assert again.rc == 0 and (tmp_path / "q2.html").read_text() == page

    from py_mini_racer import MiniRacer

    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    js = MiniRacer()
    js.eval(DOM_STUB + script)
    # participant 1 says "real" to everything; participant 2 is always right
    for i in range(12):
        js.eval(f"pick({i}, 'real')")
    assert js.eval("document.getElementById('done').disabled") is False
    js.eval("finish()")
    first = json.loads(js.eval("document.getElementById('json').value"))
    assert first["participants"] == 1 and first["real_judged_real"] == 1 and first["generated_judged_real"] == 1
    js.eval("next()")
    for i, lab in enumerate(labels):
        js.eval(f"pick({i}, '{lab}')")
    js.eval("finish()")
    both = json.loads(js.eval("document.getElementById('json').value"))
    assert both["participants"] == 2 and both["real_judged_real"] == 1 and both["generated_judged_real"] == 0.5
    assert both["per_image_realness"] == [1.0 if lab == "real" else 0.5 for lab in labels]
    assert "12 of 12 right" in js.eval("document.getElementById('result').innerHTML")

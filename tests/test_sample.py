"""`gantool sample`: z samplers (pure), determinism, files, streaming, walks, bad input."""

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import copy_digits16, run_cli, run_in_process
from gantool.errors import UsageError
from gantool.sample import draw_z, interpolate, parse_seeds, z_for


# ---------------------------------------------------------------- pure

def test_parse_seeds():
    assert parse_seeds("0-3,7, 9") == [0, 1, 2, 3, 7, 9]
    for bad in ("", "a", "5-2", "1-2-3", "-1"):
        with pytest.raises(UsageError, match="--seeds"):
            parse_seeds(bad)


@given(r=st.floats(0.01, 3.0), seed=st.integers(0, 2**32 - 1), dim=st.integers(1, 600))
@settings(max_examples=80, deadline=None)
def test_truncated_uniform_and_normal_respect_their_bound(r, seed, dim):
    z = draw_z(np.random.default_rng(seed), dim, "uniform", r, None)
    assert z.dtype == np.float32 and z.shape == (dim,) and np.all(np.abs(z) <= r)
    t = draw_z(np.random.default_rng(seed), dim, "normal", None, r)
    assert np.all(np.abs(t) <= np.float32(r))


def test_z_is_a_function_of_the_seed_alone():
    a = z_for(3, 5, 16, "uniform", 0.4)
    assert np.array_equal(a, z_for(3, 5, 16, "uniform", 0.4)) and not np.array_equal(a, z_for(3, 6, 16, "uniform", 0.4))
    assert np.array_equal(z_for(42, None, 8, "normal"), z_for(42, None, 8, "normal"))
    big = draw_z(np.random.default_rng(0), 100000, "normal", None, None)
    assert abs(big.std() - 1) < 0.02  # untruncated normal really is N(0, 1)


def test_interpolation_ends_and_slerp_keeps_norm():
    a, b = z_for(0, 0, 64, "normal"), z_for(0, 1, 64, "normal")
    np.testing.assert_allclose(interpolate(a, b, 0.0, "normal"), a, atol=1e-6)
    np.testing.assert_allclose(interpolate(a, b, 1.0, "normal"), b, atol=1e-6)
    mid = interpolate(a, b, 0.5, "normal")
    assert min(np.linalg.norm(a), np.linalg.norm(b)) * 0.9 < np.linalg.norm(mid)
    u, v = z_for(0, 0, 8, "uniform", 0.4), z_for(0, 1, 8, "uniform", 0.4)
    assert np.all(np.abs(interpolate(u, v, 0.3, "uniform")) <= 0.4 + 1e-7)


# ---------------------------------------------------------------- CLI on real runs

@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits16, dcgan16, pggan8):
    root = tmp_path_factory.mktemp("samplews")
    copy_digits16(digits16, root / "data/digits_16")
    shutil.copytree(dcgan16, root / "runs/dc")  # the session's tiny dcgan run (conftest.DCGAN16_ARGS)
    shutil.copytree(pggan8, root / "runs/pg")  # the session's tiny pggan run (conftest.PGGAN8_ARGS)
    return root


def png(path):
    import cv2
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_sample_zrange_as_written(runs):
    res = run_cli("sample", "runs/dc", "--zrange", 0.4, "--json", cwd=runs)
    assert res.rc == 0, res
    out = res.json
    assert out["count"] == 64 and out["zrange"] == 0.4 and out["seed"] == 0 and out["ema"] is True
    folder = runs / out["out"]
    assert folder.parent == runs / "runs/dc/samples/generated"
    assert len(list(folder.glob("img-*.png"))) == 64 and png(folder / "img-000000.png").shape == (16, 16)
    meta = json.loads((folder / "sample.json").read_text())
    assert meta["kind"] == "gantool.samples" and meta["zrange"] == 0.4 and len(meta["files"]) == 64
    g = png(folder / "grid.png")  # 8 x 8 tiles of 16 px with 2 px gaps, scaled x2 to >= 256 px
    assert g.shape == ((8 * 18 + 2) * 2, (8 * 18 + 2) * 2)
    np.testing.assert_array_equal(g[2 * 2:2 * 18, 2 * 2:2 * 18], np.repeat(np.repeat(png(folder / "img-000000.png"), 2, 0), 2, 1))


def test_same_seed_same_bytes_and_count_prefix(runs, tmp_path):
    a = run_in_process("sample", "runs/dc", "--seeds", "0-5,42", "--out", tmp_path / "a", "-q", cwd=runs)
    b = run_in_process("sample", "runs/dc", "--seeds", "0-5,42", "--out", tmp_path / "b", "-q", "--batch", 3, cwd=runs)
    assert a.rc == 0 and b.rc == 0, (a, b)
    names = sorted(p.name for p in (tmp_path / "a").glob("seed-*.png"))
    assert names == [f"seed-{s:06d}.png" for s in (0, 1, 2, 3, 4, 5, 42)]
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()
    c = run_in_process("sample", "runs/dc", "--count", 3, "--seed", 9, "--out", tmp_path / "c", "-q", cwd=runs)
    d = run_in_process("sample", "runs/dc", "--count", 10, "--seed", 9, "--out", tmp_path / "d", "-q", cwd=runs)
    assert c.rc == 0 and d.rc == 0
    for i in range(3):
        assert (tmp_path / "c" / f"img-{i:06d}.png").read_bytes() == (tmp_path / "d" / f"img-{i:06d}.png").read_bytes()


def test_large_count_streams_in_batches_into_npz(runs, tmp_path, monkeypatch):
    from gantool.config import SampleConfig
    from gantool.run.generator import Generator
    from gantool.sample_run import run_sample

    sizes = []
    real_call = Generator.__call__

    def spy(self, z):
        sizes.append(len(z))
        return real_call(self, z)

    monkeypatch.setattr(Generator, "__call__", spy)
    cfg = SampleConfig(source=str(runs / "runs/dc"), out=str(tmp_path / "big"), count=300, batch=7,
                       npz=str(tmp_path / "big.npz")).validate()
    result = run_sample(cfg)
    assert result.count == 300 and max(sizes) == 7 and sum(sizes) == 300
    with np.load(tmp_path / "big.npz", allow_pickle=False) as z:
        images = z["images"]
        assert images.shape == (300, 16, 16, 1) and images.dtype == np.uint8 and list(z["seeds"]) == [0]
    for i in (0, 123, 299):
        np.testing.assert_array_equal(images[i, :, :, 0], png(tmp_path / "big" / f"img-{i:06d}.png"))
    assert not list(tmp_path.glob(".big.npz*"))  # no temp file left behind


def test_latent_walk_gif_and_mp4(runs, tmp_path):
    res = run_in_process("sample", "runs/dc", "--count", 4, "--interpolate", 3, "--frames", 4, "--out", tmp_path, "--json", cwd=runs)
    assert res.rc == 0, res
    from PIL import Image

    gif = Image.open(tmp_path / "walk.gif")
    assert gif.n_frames == 12
    import cv2
    cap = cv2.VideoCapture(str(tmp_path / "walk.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 12


def test_checkpoint_prefix_and_stages_and_truncation(runs, tmp_path):
    a = run_in_process("sample", "runs/dc/checkpoints/ckpt-20", "--seeds", "1-3", "--out", tmp_path / "ck", "-q", cwd=runs)
    b = run_in_process("sample", "runs/dc", "--seeds", "1-3", "--out", tmp_path / "run", "-q", cwd=runs)
    assert a.rc == 0 and b.rc == 0, (a, b)
    for s in (1, 2, 3):  # the checkpoint's EMA generator is the run's generator_ema.keras
        assert np.abs(png(tmp_path / "ck" / f"seed-{s:06d}.png").astype(int) - png(tmp_path / "run" / f"seed-{s:06d}.png")).max() <= 1
    res = run_in_process("sample", "runs/pg", "--resolution", 4, "--truncation", 0.7, "--count", 2, "--json", cwd=runs)
    assert res.rc == 0 and res.json["resolution"] == 4 and res.json["truncation"] == 0.7, res
    assert png(runs / res.json["out"] / "img-000000.png").shape == (4, 4)
    res = run_in_process("sample", "runs/pg", "--count", 2, "--json", cwd=runs)
    assert res.rc == 0 and res.json["resolution"] == 8


@pytest.mark.parametrize("args, needle", [
    pytest.param(["nowhere"], "no checkpoint", marks=pytest.mark.entry_point),
    (["runs/dc", "--zrange", 0], "--zrange"),
    (["runs/dc", "--zrange", -1], "--zrange"),
    (["runs/dc", "--count", 0], "--count"),
    (["runs/dc", "--truncation", 0.5], "uniform z"),
    pytest.param(["runs/pg", "--zrange", 0.5], "normal z", marks=pytest.mark.entry_point),
    (["runs/dc", "--resolution", 8], "--resolution"),
    (["runs/pg", "--resolution", 16], "--resolution"),
    (["runs/dc", "--seeds", "5-2"], "--seeds"),
    (["runs/dc", "--interpolate", 1], "--interpolate"),
    (["runs/dc", "--psi", 0.7], "--psi: dcgan has no mapping network"),
    (["runs/dc", "--mix", "1-2", "--mix-cols", "3-4"], "--mix: dcgan has no mapping network"),
    (["runs/pg", "--psi", 0.7], "--psi: pggan has no mapping network"),
])
def test_bad_input_exits_2_with_one_line(runs, cli, args, needle):
    res = cli("sample", *args, cwd=runs)
    lines = res.stderr.strip().splitlines()
    assert res.rc == 2 and len(lines) == 1 and needle in lines[0], res

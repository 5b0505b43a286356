"""Sampling and exporting a generator with a mapping network (one tiny real stylegan2 run):
truncation toward the mean w (--psi), the style-mixing grid (--mix), fixed noise (same seed,
same bytes), latent walks, refusals, and export parity with psi baked in. The expected images
are computed here straight from the run's generator file (its mapping and synthesis layers),
not through gantool.run.styles."""

import json
import shutil

import numpy as np
import pytest

from conftest import run_cli
from gantool.sample import z_for
from tfhelpers import tf

Z_DIM = 16


@pytest.fixture(scope="module")
def run(tmp_path_factory, sg2_run):
    """The session's tiny stylegan2 run (conftest.sg2_run: 8 px, z 16, 2 steps) as runs/sg."""
    root = tmp_path_factory.mktemp("stylesws")
    shutil.copytree(sg2_run / "ref", root / "runs/sg")
    assert json.loads((root / "runs/sg/config.json").read_text())["config"]["z_dim"] == Z_DIM
    return root


@pytest.fixture(scope="module")
def G(run):
    """The run's EMA generator, loaded here with Keras, noise set to the stored fixed maps."""
    tf()
    import keras

    import gantool.models.layers  # noqa: F401  (registers the custom layers)
    import gantool.models.stylegan2_layers  # noqa: F401
    from gantool.models.stylegan2 import set_noise_mode

    g = keras.models.load_model(run / "runs/sg/checkpoints/generator_ema.keras", compile=False)
    set_noise_mode(g, "const")
    return g


def direct(G, z, psi=None, mix_with=None, cutoff=None):
    """uint8 images: synthesis(ws) with ws = broadcast(mapping(z)), truncated toward w_avg by psi,
    mixed (first `cutoff` ws from z, the rest from mix_with) -- the definitions, in numpy."""
    from gantool.images import to_uint8

    mapping, synthesis = G.get_layer("mapping"), G.get_layer("synthesis")
    w_avg = np.asarray(mapping.get_layer("w_avg").w_avg)
    n_ws = synthesis.input_shape[1]

    def ws(zz):
        w = np.asarray(mapping(zz, training=False))
        if psi is not None:
            w = w_avg + np.float32(psi) * (w - w_avg)
        return np.repeat(w[:, None], n_ws, axis=1)

    x = ws(z)
    if mix_with is not None:
        x = np.concatenate([x[:, :cutoff], ws(mix_with)[:, cutoff:]], axis=1)
    return to_uint8(synthesis(x.astype(np.float32), training=False))


def png(path):
    import cv2
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return img[..., None] if img.ndim == 2 else img


def zs(seeds):
    return np.stack([z_for(s, None, Z_DIM, "normal") for s in seeds])


def sample(run, out, **kw):
    from gantool.config import SampleConfig
    from gantool.sample_run import run_sample

    return run_sample(SampleConfig(source=str(run / "runs/sg"), out=str(out), **kw).validate())


def test_psi_0_gives_the_mean_w_image_for_every_seed_and_psi_1_plain_sampling(run, G, tmp_path):
    sample(run, tmp_path / "plain", seeds="0-5")
    sample(run, tmp_path / "p1", seeds="0-5", psi=1.0)
    sample(run, tmp_path / "p0", seeds="0-5", psi=0.0)
    names = [f"seed-{s:06d}.png" for s in range(6)]
    plain = [png(tmp_path / "plain" / n) for n in names]
    assert len({p.tobytes() for p in plain}) > 1  # seeds really give different images
    for n in names:
        assert (tmp_path / "p1" / n).read_bytes() == (tmp_path / "plain" / n).read_bytes()
    w_avg = np.asarray(G.get_layer("mapping").get_layer("w_avg").w_avg)
    n_ws = G.get_layer("synthesis").input_shape[1]
    from gantool.images import to_uint8
    mean_img = to_uint8(G.get_layer("synthesis")(np.tile(w_avg, (1, n_ws, 1)), training=False))[0]
    for n in names:
        np.testing.assert_array_equal(png(tmp_path / "p0" / n), mean_img)
    for n, p in zip(names, plain):  # and plain sampling is synthesis(mapping(z)), with the fixed noise
        np.testing.assert_array_equal(p, direct(G, zs([int(n[5:11])]))[0])


def test_psi_07_images_are_truncated_toward_w_avg(run, G, tmp_path):
    sample(run, tmp_path, seeds="3,8", psi=0.7)
    want = direct(G, zs([3, 8]), psi=0.7)
    for i, s in enumerate((3, 8)):
        assert np.abs(png(tmp_path / f"seed-{s:06d}.png").astype(int) - want[i]).max() <= 1


def cell(grid_img, r, c, res, pad, scale):
    y, x = (pad + r * (res + pad)) * scale, (pad + c * (res + pad)) * scale
    return grid_img[y:y + res * scale:scale, x:x + res * scale:scale]


@pytest.mark.parametrize("cutoff", [None, 1])
def test_mixing_grid_cells_are_synthesis_of_mixed_ws(run, G, tmp_path, cutoff):
    rows, cols = [1, 2, 3], [10, 11]
    res = sample(run, tmp_path, seeds="1-3", psi=0.7, mix="1-3", mix_cols="10-11", mix_cutoff=cutoff)
    mix = res.mix
    n_ws = G.get_layer("synthesis").input_shape[1]
    assert mix["num_ws"] == n_ws == 4 and mix["cutoff"] == (2 if cutoff is None else cutoff)  # 8 px: 4 ws
    assert mix["rows"] == rows and mix["cols"] == cols
    g = png(tmp_path / "mix.png")
    s, pad = mix["scale"], mix["pad"]
    assert g.shape == (((len(rows) + 1) * (8 + pad) + pad) * s, ((len(cols) + 1) * (8 + pad) + pad) * s, 1)
    assert not cell(g, 0, 0, 8, pad, s).any()  # the corner is blank
    for i, r in enumerate(rows):  # row sources on the left: the --psi images of those seeds
        np.testing.assert_array_equal(cell(g, i + 1, 0, 8, pad, s), png(tmp_path / f"seed-{r:06d}.png"))
    col_imgs = direct(G, zs(cols), psi=0.7)
    for j in range(len(cols)):
        assert np.abs(cell(g, 0, j + 1, 8, pad, s).astype(int) - col_imgs[j]).max() <= 1
    for i, r in enumerate(rows):
        want = direct(G, zs([r] * len(cols)), psi=0.7, mix_with=zs(cols), cutoff=mix["cutoff"])
        for j in range(len(cols)):
            assert np.abs(cell(g, i + 1, j + 1, 8, pad, s).astype(int) - want[j]).max() <= 1
    cells = np.stack([cell(g, i + 1, j + 1, 8, pad, s) for i in range(3) for j in range(2)])
    assert len({c.tobytes() for c in cells}) > 1


def test_same_seed_same_checkpoint_same_bytes_with_psi_mix_and_walk(run, tmp_path):
    args = ["sample", "runs/sg", "--seeds", "0-4", "--psi", 0.7, "--mix", "1-2", "--mix-cols", "3-4",
            "--interpolate", 2, "--frames", 2]
    a = run_cli(*args, "--out", tmp_path / "a", "--json", cwd=run)
    b = run_cli(*args, "--out", tmp_path / "b", "--batch", 2, "-q", cwd=run)
    assert a.rc == 0 and b.rc == 0, (a, b)
    assert a.json["psi"] == 0.7 and a.json["mix"]["file"].endswith("mix.png")
    files = sorted(p.name for p in (tmp_path / "a").iterdir() if p.suffix in (".png", ".gif"))
    assert len(files) == 8 and "mix.png" in files and "walk.gif" in files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    from PIL import Image
    assert Image.open(tmp_path / "a" / "walk.gif").n_frames == 4
    meta = json.loads((tmp_path / "a" / "sample.json").read_text())
    assert meta["settings"]["psi"] == 0.7 and meta["mix"]["cutoff"] == 2


@pytest.mark.parametrize("args, needle", [
    (["--zrange", 0.5], "--zrange: this model was trained on normal z"),
    (["--mix", "1-2"], "--mix: needs --mix-cols"),
    (["--mix-cols", "1-2"], "--mix-cols: needs --mix"),
    (["--mix", "1-2", "--mix-cols", "3", "--mix-cutoff", 5], "--mix-cutoff: must be in 0..4"),
    (["--mix", "1-40", "--mix-cols", "3"], "--mix: at most 32"),
    (["--mix", "x", "--mix-cols", "3"], "--mix: 'x' is not"),
    (["--psi", "nan"], "--psi: must be a finite number"),
])
def test_bad_style_options_exit_2_with_one_line(run, args, needle, capsys, tmp_path):
    from gantool.cli import main

    rc = main(["sample", str(run / "runs/sg"), "--out", str(tmp_path / "x"), *map(str, args)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "x" / "sample.json").exists()


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite", "onnx"])
def test_export_with_psi_baked_in_matches_keras(run, G, tmp_path, fmt):
    from gantool.export import export_generator, tflite_interpreter

    res = export_generator(str(run / "runs/sg"), fmt, out=str(tmp_path / ("g." + fmt)), psi=0.7)
    assert res.max_diff <= 1 and res.psi == 0.7 and res.z_dim == Z_DIM and res.resolution == 8
    z = zs([5, 6, 7])
    t = tf()
    if fmt == "savedmodel":
        loaded = t.saved_model.load(res.path)  # kept referenced: serve() holds its variables weakly
        got = np.asarray(loaded.serve(t.constant(z)))
    elif fmt == "tflite":
        it = tflite_interpreter(t, res.path)
        inp = it.get_input_details()[0]
        it.resize_tensor_input(inp["index"], list(z.shape))
        it.allocate_tensors()
        it.set_tensor(inp["index"], z)
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
    else:
        import onnxruntime as ort
        sess = ort.InferenceSession(res.path, providers=["CPUExecutionProvider"])
        got = sess.run(None, {sess.get_inputs()[0].name: z})[0]
    assert got.dtype == np.uint8 and got.shape == (3, 8, 8, 1)
    assert np.abs(got.astype(int) - direct(G, z, psi=0.7)).max() <= 1


def test_a_checkpoint_prefix_samples_the_always_on_ema_generator(run, tmp_path):
    """stylegan2 keeps its G EMA without --ema: ckpt-2 (the last) gives the images of generator_ema.keras."""
    a = sample(run, tmp_path / "run", seeds="0-2")
    from gantool.config import SampleConfig
    from gantool.sample_run import run_sample
    b = run_sample(SampleConfig(source=str(run / "runs/sg/checkpoints/ckpt-2"), out=str(tmp_path / "ck"),
                                seeds="0-2").validate())
    assert a.ema and b.ema
    for s in range(3):
        n = f"seed-{s:06d}.png"
        assert np.abs(png(tmp_path / "ck" / n).astype(int) - png(tmp_path / "run" / n)).max() <= 1

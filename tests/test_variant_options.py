"""Variants own their settings: an option the chosen variant does not use is refused in one line
naming both (exit 2), and a new variant is one ModelSpec plus one registry line."""

import json

import pytest

from conftest import run_cli
from gantool.cli import main
from gantool.config import TRAIN_DEFAULTS, TrainConfig
from gantool.models import VARIANTS, ModelSpec
from gantool.models import spec_of
from gantool.models.base import SHAPE_OPTIONS

# (variant and its args, the option it does not use, how the message names the variant)
UNUSED = [
    (["gan", "--kernel", 3], "--kernel", "gan"),
    (["gan", "--max-filters", 64], "--max-filters", "gan"),
    (["gan", "--preset", "mnist"], "--preset", "gan"),
    (["gan", "--fade-kimg", 2], "--fade-kimg", "gan"),
    (["hdcgan", "--preset", "mnist"], "--preset", "hdcgan"),
    (["hdcgan", "--stable-kimg", 2], "--stable-kimg", "hdcgan"),
    (["pggan", "--preset", "mnist"], "--preset", "pggan"),
    (["pggan", "--kernel", 5], "--kernel", "pggan"),
    (["pggan", "--spectral-norm"], "--spectral-norm", "pggan"),
    (["dcgan", "--fade-kimg", 2], "--fade-kimg", "dcgan"),
    (["dcgan", "--preset", "mnist", "--kernel", 5], "--kernel", "dcgan --preset mnist"),
    (["dcgan", "--preset", "mnist", "--filters", 8], "--filters", "dcgan --preset mnist"),
    (["dcgan", "--preset", "mnist", "--max-filters", 128], "--max-filters", "dcgan --preset mnist"),
    (["dcgan", "--preset", "mnist", "--d-bias"], "--d-bias", "dcgan --preset mnist"),
    (["gan", "--out-gain", 1.1], "--out-gain", "gan"),
    (["pggan", "--no-d-bias"], "--d-bias", "pggan"),
    (["stylegan2", "--out-gain", 1.1], "--out-gain", "stylegan2"),
]


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


@pytest.mark.parametrize("args, option, variant", UNUSED, ids=[" ".join(map(str, r[0])) for r in UNUSED])
def test_unused_option_is_refused_in_one_line_naming_option_and_variant(args, option, variant, capsys, tmp_path,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)  # no dataset here: the refusal comes before any data is looked at
    assert main(["train", *map(str, args), "--dry-run"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"gantool: error: {option}: {variant} does not use it"), line


@pytest.mark.parametrize("args, option, variant", [UNUSED[0], UNUSED[10]])
def test_unused_option_refused_through_the_entry_point(args, option, variant, tmp_path):
    res = run_cli("train", *args, "--dry-run", "--json", cwd=tmp_path)
    assert res.rc == 2, res
    assert f"{option}: {variant} does not use it" in _one_line(res.stderr)
    assert json.loads(res.stdout)["exit_code"] == 2


@pytest.mark.parametrize("args, needle", [
    (["dcgan", "--gp-weight", 5], "--gp-weight: the bce loss does not use it"),
    (["pggan", "--loss", "lsgan", "--drift", 0.01], "--drift: the lsgan loss does not use it"),
    (["dcgan", "--no-augment", "--augment-policy", "flip"], "--augment-policy"),
])
def test_options_of_an_unchosen_loss_or_switched_off_augmentation_are_refused(args, needle, capsys, tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *map(str, args), "--dry-run"]) == 2
    assert needle in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("variant", VARIANTS.names())
def test_every_variant_declares_what_it_honours(variant):
    spec = VARIANTS.get(variant)
    assert spec.honours <= set(SHAPE_OPTIONS)
    fields = set(TrainConfig.__dataclass_fields__)
    assert set(spec.defaults) <= set(TRAIN_DEFAULTS) and set(spec.options) <= fields
    for preset in spec.presets:
        assert spec.with_preset(preset).honours <= spec.honours


def test_mnist_preset_declares_the_joint_d_batch_not_the_engine():
    base = dict(data="-", run_dir="-", dataset_name="t", size=28, channels=1, steps=1)
    assert spec_of(TrainConfig(variant="dcgan", preset="mnist", **base)).joint_d_batch
    assert not spec_of(TrainConfig(variant="dcgan", **base)).joint_d_batch


# ------------------------------------------------------------------ a variant added from here

def _toy_build(cfg):
    import keras
    from keras import layers

    hw = (cfg.size, cfg.size, cfg.channels)
    z = keras.Input((cfg.z_dim,), name="z")
    x = layers.Dense(hw[0] * hw[1] * hw[2], activation="tanh")(layers.Dense(cfg.filters, activation="relu")(z))
    g = keras.Model(z, layers.Reshape(hw)(x), name="generator")
    img = keras.Input(hw, name="image")
    d = keras.Model(img, layers.Dense(1)(layers.Dense(cfg.filters, activation="relu")(layers.Flatten()(img))),
                    name="discriminator")
    return g, d


def _toy_check(size, cfg):
    pass


@pytest.fixture
def toy():
    # the one registry line a new variant needs (its module would hold build and check)
    VARIANTS.register("toy")(ModelSpec(name="toy", summary="a tiny MLP GAN, for the test", build=_toy_build,
                                       check=_toy_check, defaults={"batch": 4, "filters": 4},
                                       honours=frozenset({"filters"}), joint_d_batch=True))
    yield VARIANTS.get("toy")
    VARIANTS._items.pop("toy")


@pytest.fixture(scope="module")
def digits8(tmp_path_factory):
    out = tmp_path_factory.mktemp("toydata") / "digits_8"
    res = run_cli("prep", "builtin:digits", "--size", 8, "--out", out, "-q")
    assert res.rc == 0, res
    return out


def test_a_variant_registered_from_a_test_trains_and_refuses_what_it_does_not_use(toy, digits8, tmp_path,
                                                                                 capsys):
    run = tmp_path / "runs" / "toy"
    args = ["train", "toy", "--data", str(digits8), "--steps", "2", "--z-dim", "8", "--sample-every", "0",
            "--ckpt-every", "2", "--grid", "2", "--out", str(run), "-q", "--json"]
    assert main(args) == 0, capsys.readouterr()
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["variant"] == "toy" and out["step"] == 2
    assert all(isinstance(v, float) for v in out["last"].values())
    cfg = json.loads((run / "config.json").read_text())["config"]
    assert (cfg["variant"], cfg["batch"], cfg["filters"], cfg["z_dim"]) == ("toy", 4, 4, 8)
    assert (run / "checkpoints" / "generator.keras").is_file()
    assert main(["train", "toy", "--data", str(digits8), "--kernel", "3", "--dry-run"]) == 2
    assert _one_line(capsys.readouterr().err) == "gantool: error: --kernel: toy does not use it; drop the flag"

"""Every command, given a missing or invalid path or value, exits 2 with one line on stderr (and
one JSON object with --json), before doing any work. Files that could run code or that come from
another schema are refused: .npz with pickled objects, .keras with a Lambda layer (safe_mode),
a dataset manifest of another schema.
"""

import json

import numpy as np
import pytest

from conftest import copy_digits16, run_cli


@pytest.fixture(scope="module")
def ws(tmp_path_factory, digits16):
    root = tmp_path_factory.mktemp("badws")
    copy_digits16(digits16, root / "data/digits_16")
    (root / "afile.txt").write_text("not a folder")
    np.savez(root / "pickled.npz", images=np.array([{"a": 1}], dtype=object))
    return root


CASES = [
    # prep
    (["prep", "nope/"], "not found"),
    (["prep", "afile.txt"], "afile.txt"),
    (["prep", "builtin:digits", "--size", "0"], "--size"),
    (["prep", "builtin:digits", "--size", "abc"], "--size"),
    (["prep", "builtin:digits", "--crop", "sideways"], "--crop"),
    (["prep", "builtin:digits", "--workers", "-1"], "--workers"),
    # train
    (["train", "dcgan", "--data", "nope"], "nope"),
    (["train", "nosuchgan", "--data", "data/digits_16"], "nosuchgan"),
    (["train", "dcgan", "--data", "data/digits_16", "--steps", "0"], "--steps"),
    (["train", "dcgan", "--data", "data/digits_16", "--batch", "-3"], "--batch"),
    (["train", "dcgan", "--data", "data/digits_16", "--precision", "fp8"], "--precision"),
    (["train", "dcgan", "--data", "data/digits_16", "--grad-accum", "0"], "--grad-accum"),
    (["train", "dcgan", "--data", "data/digits_16", "--batch-schedule", "16:x"], "--batch-schedule"),
    (["train", "dcgan", "--data", "data/digits_16", "--loss", "magic"], "--loss"),
    (["train", "--resume", "nope"], "nope"),
    (["train", "pggan", "--data", "data/digits_16", "--target", "12"], "12"),
    # sample / export / eval
    (["sample", "nope"], "nope"),
    (["sample", "data/digits_16"], "not a gantool run"),
    (["export", "nope", "--format", "onnx"], "nope"),
    (["eval", "nope"], "nope"),
    (["eval", "--fake", "pickled.npz", "--data", "data/digits_16", "--metrics", "msssim"], "pickled.npz"),
    (["eval", "--fake", "afile.txt", "--data", "nope", "--metrics", "msssim"], "nope"),
    (["eval", "quiz", "nope"], "nope"),
]


# one row per command family also runs through the installed entry point; the rest call gantool.cli.main
THROUGH_ENTRY_POINT = {"prep nope/", "train dcgan --data data/digits_16 --steps 0", "sample data/digits_16",
                       "eval --fake pickled.npz --data data/digits_16 --metrics msssim"}


@pytest.mark.parametrize("args,needle", [
    pytest.param(a, n, id=" ".join(a), marks=[pytest.mark.entry_point] if " ".join(a) in THROUGH_ENTRY_POINT else [])
    for a, n in CASES])
def test_bad_input_exits_2_with_one_line(ws, cli, args, needle):
    res = cli(*args, cwd=ws)
    lines = res.stderr.strip().splitlines()
    assert res.rc == 2, res
    assert len(lines) == 1 and lines[0].startswith("gantool: error:") and needle in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    res = cli(*args, "--json", cwd=ws)
    assert res.rc == 2 and json.loads(res.stdout)["exit_code"] == 2, res


class Planted:
    """Unpickling this creates a file: proof that a loader ran a pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickled_shard_or_array_is_never_unpickled(ws, tmp_path):
    import shutil

    marker = tmp_path / "pwned"
    data = tmp_path / "evil"
    shutil.copytree(ws / "data/digits_16", data)
    shard = sorted(data.glob("*.npz"))[0]
    np.savez(shard, images=np.array([Planted(marker)] * 3, dtype=object))
    res = run_cli("train", "dcgan", "--data", data, "--steps", 1, "--filters", 8, "--batch", 8, "-q", cwd=ws)
    assert res.rc == 1 and "Traceback" not in res.stderr and "object" in res.stderr, res
    np.savez(tmp_path / "fake.npz", images=np.array([Planted(marker)] * 3, dtype=object))
    res = run_cli("eval", "--fake", tmp_path / "fake.npz", "--data", ws / "data/digits_16", "--metrics", "msssim",
                  "-q", cwd=ws)
    assert res.rc == 2 and "Traceback" not in res.stderr, res
    assert not marker.exists()


def test_a_manifest_of_another_schema_is_refused(ws, tmp_path):
    import shutil

    data = tmp_path / "old"
    shutil.copytree(ws / "data/digits_16", data)
    m = json.loads((data / "manifest.json").read_text())
    m["schema"] = 0
    (data / "manifest.json").write_text(json.dumps(m))
    res = run_cli("train", "dcgan", "--data", data, "--steps", 1, "-q", cwd=ws)
    assert res.rc == 2 and "schema 0 is not supported" in res.stderr, res


def test_a_keras_file_with_code_in_it_is_refused(ws, tmp_path):
    """A Lambda layer carries Python bytecode; safe_mode refuses to deserialise it."""
    from tfhelpers import tf

    tf()
    import keras

    z = keras.Input((4,))
    x = keras.layers.Lambda(lambda t: t * 2)(keras.layers.Dense(16 * 16)(z))
    model = keras.Model(z, keras.layers.Reshape((16, 16, 1))(x))
    model.save(tmp_path / "evil.keras")
    res = run_cli("sample", tmp_path / "evil.keras", "--count", 1, "--out", tmp_path / "s", cwd=ws)
    assert res.rc == 2 and "cannot load" in res.stderr and "Traceback" not in res.stderr, res
    assert not (tmp_path / "s" / "sample.json").exists()

"""prep on builtin:digits (no TensorFlow needed): packing, shards, manifest, progress, atomicity."""

import json

import numpy as np
import pytest

from conftest import run_cli

from gantool.data.shards import open_dataset
from gantool.errors import DataError
from gantool.prep.sources import digits


def test_digits_packed_with_labels_and_json(tmp_path):
    r = run_cli("prep", "builtin:digits", "--size", 16, "--shard-size", 500, "--workers", 1, "--json", cwd=tmp_path)
    assert r.rc == 0, r
    obj = json.loads(r.stdout)  # stdout is exactly one JSON object
    assert obj["ok"] and obj["count"] == 1797 and obj["found"] == 1797 and obj["shards"] == 4
    assert obj["enlarged"] == 1797  # 8x8 -> 16x16
    ds = open_dataset(tmp_path / "data" / "digits_16")
    assert ds.size == 16 and ds.channels == 1 and ds.count == 1797
    assert [s["count"] for s in ds.manifest["shards"]] == [500, 500, 500, 297]
    x = ds.load_all()
    assert x.shape == (1797, 16, 16, 1) and x.dtype == np.uint8
    # content: each packed image is the upscaled source digit (compare at 8x8 by block mean)
    src, labels = digits()
    down = x[:, :, :, 0].reshape(1797, 8, 2, 8, 2).mean(axis=(2, 4))
    assert np.abs(down - src).mean() < 12
    assert [im["label"] for im in ds.manifest["images"][:10]] == labels[:10].tolist()
    assert ds.manifest["gantool_version"] and ds.manifest["schema"] == 1
    assert (tmp_path / "data" / "digits_16" / "config.json").is_file()


def test_progress_in_a_log_is_sparse_plain_lines(tmp_path):
    r = run_cli("prep", "builtin:digits", "--size", 8, "--workers", 1, cwd=tmp_path)
    assert r.rc == 0, r
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("prep:")]
    assert 3 <= len(lines) <= 12, r.stderr
    assert "\r" not in r.stderr and "\x1b[" not in r.stderr
    assert "100%" in lines[-1]
    # the human summary goes to stdout
    assert "packed" in r.stdout and "1797" in r.stdout


def test_existing_output_needs_overwrite_and_is_replaced_whole(tmp_path):
    assert run_cli("prep", "builtin:digits", "--size", 8, "--workers", 1, "-q", cwd=tmp_path).rc == 0
    r = run_cli("prep", "builtin:digits", "--size", 8, "--workers", 1, "-q", cwd=tmp_path)
    assert r.rc == 2 and "--overwrite" in r.stderr
    r = run_cli("prep", "builtin:digits", "--size", 8, "--channels", 3, "--out", "data/digits_8",
                "--overwrite", "--workers", 1, "-q", "--json", cwd=tmp_path)
    assert r.rc == 0, r
    ds = open_dataset(tmp_path / "data" / "digits_8")
    assert ds.channels == 3 and ds.load_all().shape == (1797, 8, 8, 3)
    leftovers = [p.name for p in (tmp_path / "data").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_same_input_gives_byte_identical_shards(tmp_path):
    for out in ("a", "b"):
        assert run_cli("prep", "builtin:digits", "--size", 12, "--out", out, "--workers", 1, "-q", cwd=tmp_path).rc == 0
    assert (tmp_path / "a" / "shard-00000.npz").read_bytes() == (tmp_path / "b" / "shard-00000.npz").read_bytes()


def test_open_dataset_rejects_incomplete_folders(tmp_path):
    with pytest.raises(DataError, match="no manifest"):
        open_dataset(tmp_path)
    assert run_cli("prep", "builtin:digits", "--size", 8, "--out", "d", "--workers", 1, "-q", cwd=tmp_path).rc == 0
    (tmp_path / "d" / "shard-00000.npz").unlink()
    with pytest.raises(DataError, match="incomplete"):
        open_dataset(tmp_path / "d")

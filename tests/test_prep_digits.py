"""prep on builtin:digits (no TensorFlow needed): packing, shards, manifest, progress, atomicity."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import run_cli, run_in_process

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


def test_builtin_digits_are_scikit_learns_read_without_importing_it():
    from sklearn.datasets import load_digits

    ref = load_digits()
    imgs, labels = digits()
    assert np.array_equal(imgs, np.clip(np.round(ref.images * (255 / 16)), 0, 255).astype(np.uint8))
    assert np.array_equal(labels, ref.target) and not imgs.flags.writeable
    code = "import sys; from gantool.prep.sources import digits; digits(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # scikit-learn's import is 1.8-3 s of a digits prep


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


def test_overwrite_killed_between_its_renames_is_restored_by_the_next_read_or_prep(tmp_path):
    """prep --overwrite SIGKILLed after moving the old dataset aside and before moving the new one in
    (fault point pack.swap): nothing at --out, the old dataset in .NAME.old-PID, the new complete one
    in .NAME.partial-PID. The next command touching the path -- a read (train --dry-run, with --data
    or finding it under ./data) or a new prep -- puts the complete new dataset back first."""
    import shutil

    first = tmp_path / "first"
    first.mkdir()
    assert run_cli("prep", "builtin:digits", "--size", 8, "--workers", 1, "-q", cwd=first).rc == 0
    r = run_cli("prep", "builtin:digits", "--size", 8, "--channels", 3, "--out", "data/digits_8", "--overwrite",
                "--workers", 1, "-q", cwd=first, env={"GANTOOL_FAULT": "pack.swap"})
    assert r.rc == -9, r
    hidden = sorted(p.name for p in (first / "data").iterdir())
    assert len(hidden) == 2 and not (first / "data/digits_8").exists(), hidden
    old = next(first / "data" / n for n in hidden if ".old-" in n)
    new = next(first / "data" / n for n in hidden if ".partial-" in n)
    assert open_dataset(old, recover=False).channels == 1 and open_dataset(new, recover=False).channels == 3

    for case in ("read-data", "read-find", "prep"):
        ws = tmp_path / case
        shutil.copytree(first, ws, symlinks=True)
        if case == "prep":
            r = run_cli("prep", "builtin:digits", "--size", 8, "--out", "data/digits_8", "--workers", 1, "-q", cwd=ws)
            assert r.rc == 2 and "--overwrite" in r.stderr, r  # the restored dataset is there: not silently replaced
            r = run_cli("prep", "builtin:digits", "--size", 8, "--out", "data/digits_8", "--overwrite",
                        "--workers", 1, "-q", cwd=ws)
            assert r.rc == 0, r
            assert open_dataset(ws / "data/digits_8").channels == 1
            assert [p.name for p in (ws / "data").iterdir()] == ["digits_8"]  # the stale copies are gone
            continue
        data = ["--data", "data/digits_8"] if case == "read-data" else []
        r = run_in_process("train", "dcgan", *data, "--dry-run", "--json", cwd=ws)
        assert r.rc == 0, r
        ds = open_dataset(ws / "data/digits_8", recover=False)
        assert ds.channels == 3 and ds.load_all().shape == (1797, 8, 8, 3)
        assert [p.name for p in (ws / "data").iterdir()] == ["digits_8"]  # the old copy went once it was safe

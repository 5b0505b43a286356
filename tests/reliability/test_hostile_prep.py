"""`gantool prep` on a hostile folder written by hostile_corpus.py: truncated and random files,
zero bytes, decompression-bomb headers, 1x1 and 1x3000 images, 16-bit, CMYK, LAB, animations,
wrong extensions, symlink loops, a named pipe and /dev/zero behind image names, unreadable
files and folders, non-UTF-8 names. prep must not crash, must say what became of every file,
and must pack the good ones with the right pixels."""

import collections
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import hostile_corpus as hc
from conftest import GANTOOL, CliResult, run_cli

from gantool.data.shards import open_dataset

SIZE = 32


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "raw"
    exp = hc.build(root)
    yield root, exp
    hc.unlock(root)


@pytest.fixture(scope="module")
def center_run(corpus, tmp_path_factory):
    root, exp = corpus
    out = tmp_path_factory.mktemp("hostile_out") / "ds"
    t0 = time.monotonic()
    res = run_cli("prep", root, "--crop", "center", "--size", SIZE, "--out", out, "--workers", 1, "--json", timeout=120)
    return res, out, time.monotonic() - t0


def _fates(manifest: dict) -> dict:
    """{source: ("packed", None) | ("skipped", reason) | ("ignored", None)} from a manifest."""
    fates: dict = {}
    for im in manifest["images"]:
        assert im["source"] not in fates, f"{im['source']!r} packed twice (--crop center gives one crop)"
        fates[im["source"]] = ("packed", None)
    for s in manifest["skipped"]:
        assert s["source"] not in fates, f"{s['source']!r} has two fates"
        assert s["reason"] and s["detail"], s
        fates[s["source"]] = ("skipped", s["reason"])
    for p in manifest["ignored"]:
        assert p not in fates, f"{p!r} has two fates"
        fates[p] = ("ignored", None)
    return fates


def _stderr_is_progress_only(res: CliResult) -> None:
    assert "Traceback" not in res.stderr, res.stderr
    for line in res.stderr.splitlines():
        assert line.startswith("prep:"), f"unexpected stderr line: {line!r}"


def test_prep_survives_the_corpus_and_exits_0(center_run, corpus):
    res, out, seconds = center_run
    assert res.rc == 0, res  # "It exits 1 only if nothing at all was packed" (README)
    assert res.json["ok"] is True
    _stderr_is_progress_only(res)  # Pillow's warnings included:
    with pytest.warns(UserWarning, match="Corrupt EXIF"):  # this file does make Pillow warn
        Image.open(corpus[0] / "broken" / "warns.tif").load()
    assert seconds < 60, seconds  # nothing blocked on the pipe or read /dev/zero to the end
    assert [p.name for p in out.parent.iterdir()] == ["ds"]  # no staging folder left


def test_the_corpus_lists_every_entry_of_the_folder(corpus):
    """Guard on the test itself: every file and link in the tree has an expectation."""
    root, exp = corpus
    entries = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            entries.add(os.path.relpath(os.path.join(dirpath, name), root))
    if not os.access(root / "perm" / "locked_dir", os.R_OK | os.X_OK):
        entries.add("perm/locked_dir")  # listed by prep as a folder it could not read
    assert entries == set(exp)


def test_every_file_has_a_fate_and_the_counts_add_up(center_run, corpus):
    res, out, _ = center_run
    root, exp = corpus
    manifest = open_dataset(out).manifest
    fates = _fates(manifest)
    assert set(fates) == set(exp), (set(fates) ^ set(exp))
    for name, e in exp.items():
        fate, reason = fates[name]
        assert fate == e.fate, (name, fates[name], e)
        if fate == "skipped":
            assert reason in e.reasons, (name, reason, e.reasons)
    obj = res.json
    packed = [n for n, (f, _) in fates.items() if f == "packed"]
    skipped = [r for f, r in fates.values() if f == "skipped"]
    assert obj["count"] == manifest["count"] == len(packed)
    assert obj["skipped"] == dict(sorted(collections.Counter(skipped).items()))
    assert obj["ignored"] == len(manifest["ignored"])
    folders_skipped = sum(1 for n in fates if os.path.isdir(root / n) and not os.path.islink(root / n))
    assert obj["found"] == len(packed) + len(skipped) - folders_skipped


def test_good_files_are_packed_with_the_right_pixels(center_run, corpus):
    res, out, _ = center_run
    root, exp = corpus
    ds = open_dataset(out)
    x = ds.load_all()
    assert x.shape == (ds.count, SIZE, SIZE, 3) and x.dtype == np.uint8
    assert ds.size == SIZE and ds.channels == 3 and ds.count == res.json["count"]
    by_source = {im["source"]: x[i] for i, im in enumerate(ds.manifest["images"])}
    for name, e in exp.items():
        if e.fate == "packed" and e.check is not None:
            try:
                e.check(by_source[name])
            except AssertionError as err:
                raise AssertionError(f"{name!r}: {err}") from None
    # the real photos: the packed crop is an independent centre crop + area resize of the photo
    for name in ("good/astronaut.jpg", "good/chelsea.webp", "good/coffee.PNG", "good/camera_gray.tif"):
        img = np.asarray(Image.open(root / name).convert("RGB"))
        h, w = img.shape[:2]
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        want = cv2.resize(img[y0:y0 + s, x0:x0 + s], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        assert np.abs(by_source[name].astype(int) - want).mean() < 2.5, name
    recs = {im["source"]: im for im in ds.manifest["images"]}
    assert recs["size/one_by_one.png"]["enlarged"] and recs["size/one_by_one.png"]["source_size"] == [1, 1]
    assert recs["size/strip_1x3000.png"]["source_size"] == [3000, 1]
    assert recs["anim/anim_gif_named.png"]["source_size"] == [64, 48]


def test_non_utf8_names_round_trip_to_the_bytes_on_disk(center_run, corpus):
    _, out, _ = center_run
    root, _ = corpus
    fates = _fates(open_dataset(out).manifest)
    raw = {os.fsencode(n) for n in fates}
    assert b"names/caf\xe9.jpg" in raw and b"names/\xe9t\xe9/inside.png" in raw and b"names/\xff\xfe\xfd.png" in raw
    for n in fates:
        assert os.path.lexists(os.path.join(os.fsencode(root), os.fsencode(n))), n
    assert fates["names/caf\udce9.jpg"] == ("packed", None)
    assert fates["names/\udcff\udcfe\udcfd.png"] == ("skipped", "not_an_image")


def test_skip_details_say_why(center_run):
    _, out, _ = center_run
    details = {s["source"]: s for s in open_dataset(out).manifest["skipped"]}
    assert "400000000 pixels" in details["size/bomb_20000.png"]["detail"]
    assert "144000000 pixels" in details["size/bomb_12000.png"]["detail"]
    assert details["links/fifo.png"]["detail"] == "a named pipe"
    assert details["links/dev_zero.jpg"]["detail"] == "a character device"
    assert "symbolic links" in details["links/loop_self.jpg"]["detail"]
    assert details["links/dup_of_astronaut.jpg"]["detail"] == "same bytes as good/astronaut.jpg"
    assert details["broken/zero.webp"]["reason"] == "empty"  # zero-byte files are not "duplicates"
    if os.geteuid() == 0:
        assert "perm/locked.jpg" not in details  # root reads a chmod 000 file: it is packed
    else:
        assert details["perm/locked.jpg"]["reason"] == "unreadable"
        assert details["perm/locked_dir"]["reason"] == "unreadable"


def test_workers_and_the_human_summary_give_the_same_dataset(center_run, corpus, tmp_path):
    _, out1, _ = center_run
    root, _ = corpus
    r = run_cli("prep", root, "--crop", "center", "--size", SIZE, "--out", tmp_path / "w2", "--workers", 2, timeout=120)
    assert r.rc == 0, r
    assert "Traceback" not in r.stderr and "packed" in r.stdout
    a, b = open_dataset(out1), open_dataset(tmp_path / "w2")
    assert np.array_equal(a.load_all(), b.load_all())
    for key in ("images", "skipped", "ignored"):
        assert a.manifest[key] == b.manifest[key], key


# Runs argv[2:] and writes its peak RSS (kB) to argv[1]. A process's ru_maxrss survives fork and
# exec, so gantool started straight from this (TensorFlow-laden) pytest process would report
# pytest's own size; started from this small launcher it reports its own.
_LAUNCHER = """
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:], stdin=subprocess.DEVNULL).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)
"""


def _run_measured(args, cwd, timeout=120) -> tuple[CliResult, float, float]:
    """Run gantool and return (result, seconds, its peak RSS in MB)."""
    peak = Path(cwd) / "peak_rss_kb"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(peak), GANTOOL, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    return CliResult(proc), seconds, int(peak.read_text()) / 1024.0  # Linux: kilobytes


def test_decompression_bombs_are_refused_from_the_header(tmp_path, corpus):
    """20000x20000 RGB would be 1.2 GB of pixels; prep must refuse it without allocating them."""
    root, _ = corpus
    src = tmp_path / "bombs"
    src.mkdir()
    for name in ("bomb_20000.png", "bomb_12000.png", "bomb_20000.jpg"):
        shutil.copy(root / "size" / name, src / name)
    shutil.copy(root / "good" / "coffee.PNG", src / "coffee.png")
    res, seconds, peak_mb = _run_measured(
        ["prep", src, "--crop", "center", "--size", SIZE, "--out", tmp_path / "ds", "--workers", 1, "--json", "-q"],
        tmp_path)
    assert res.rc == 0, res
    assert res.json["skipped"] == {"too_large": 3} and res.json["count"] == 1
    assert seconds < 30, seconds
    assert peak_mb < 600, f"prep peaked at {peak_mb:.0f} MB: were the bomb's pixels allocated?"
    # in-process: the header check answers at once
    from gantool.prep.imageio import DecodeError, decode_file

    for name in ("bomb_20000.png", "bomb_20000.jpg"):
        t0 = time.monotonic()
        with pytest.raises(DecodeError) as e:
            decode_file(str(src / name))
        assert e.value.reason == "too_large" and time.monotonic() - t0 < 1.0


NOBODY = 65534


def _prep_as_nobody(args: list, base: Path) -> CliResult:
    """Run `gantool prep ARGS` through gantool.cli.main in a forked child that has given up root for
    user and group nobody (65534), so file permission bits apply to it as to any user. (An exec'd
    entry point cannot be used: the interpreter lives under /root, which nobody cannot enter; so
    the parent first runs the same prep path once, importing every module it needs.)"""
    from gantool.cli import main

    warm = base / "warm"
    warm.mkdir()
    Image.fromarray(hc.flat((1, 2, 3))).save(warm / "w.png")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["prep", str(warm), "--crop", "center", "--size", "16", "--out", str(base / "warm_ds"),
                     "--workers", "1", "--json", "-q"]) == 0
    out, err = base / "stdout", base / "stderr"
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with open(out, "w") as fo, open(err, "w") as fe:
                sys.stdout, sys.stderr = fo, fe
                code = main([str(a) for a in args])
                fo.flush(), fe.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    proc = subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(status), out.read_text(), err.read_text())
    return CliResult(proc)


def test_permission_denied_files_and_folders_are_skipped_as_unreadable(tmp_path):
    """Run as an unprivileged user: as root, gantool runs as nobody (a forked child that dropped
    root) in a scratch folder nobody can reach (pytest's tmp_path is private to root); as any
    other user, through the entry point as that user. Never skipped."""
    root_run = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="gantool-perm-")) if root_run else tmp_path
    src = base / "perm"
    (src / "locked_dir").mkdir(parents=True)
    Image.fromarray(hc.flat((50, 60, 70))).save(src / "ok.png")
    Image.fromarray(hc.flat((70, 60, 50))).save(src / "locked.png")
    Image.fromarray(hc.flat((60, 50, 70))).save(src / "locked_dir" / "in.png")
    if root_run:
        os.chmod(base, 0o777)  # nobody writes the dataset and its output here
        os.chmod(src, 0o755)
    os.chmod(src / "locked.png", 0)
    os.chmod(src / "locked_dir", 0)
    args = ["prep", src, "--crop", "center", "--size", 16, "--out", base / "ds", "--workers", 1, "--json", "-q"]
    try:
        if root_run:
            res = _prep_as_nobody(args, base)
            assert (base / "ds").stat().st_uid == NOBODY  # it really ran as nobody
        else:
            res = run_cli(*args)
        assert res.rc == 0, res
        assert res.json["count"] == 1 and res.json["skipped"] == {"unreadable": 2}, res
        skipped = {s["source"]: s for s in open_dataset(base / "ds").manifest["skipped"]}
        assert set(skipped) == {"locked.png", "locked_dir"}
        assert all(s["detail"] == "Permission denied" for s in skipped.values())
    finally:
        os.chmod(src / "locked.png", 0o644)
        os.chmod(src / "locked_dir", 0o755)
        if root_run:
            shutil.rmtree(base, ignore_errors=True)


def test_only_bad_files_exit_1_with_one_line_and_no_dataset(tmp_path, corpus):
    root, exp = corpus
    work = tmp_path / "w"
    src = Path(os.fsdecode(os.path.join(os.fsencode(work), b"bad_\xff_photos")))  # a non-UTF-8 folder name
    src.mkdir(parents=True)
    n = 0
    for name, e in exp.items():
        p = root / name
        if e.fate == "skipped" and e.reasons & hc.BAD_REASONS and p.is_file() and not p.is_symlink() \
                and not name.startswith("perm/"):
            shutil.copy(p, src / f"{n:02d}_{p.name}")
            n += 1
    os.mkfifo(src / "pipe.jpg")
    os.symlink("loop.png", src / "loop.png")
    (src / "readme.txt").write_text("not an image\n")
    assert n >= 15
    for extra in ([], ["--json"]):
        r = run_cli("prep", src, "--crop", "center", "--size", SIZE, "--workers", 1, *extra, cwd=work, timeout=120)
        assert r.rc == 1, r
        lines = [ln for ln in r.stderr.splitlines() if not ln.startswith("prep:")]
        assert len(lines) == 1, r.stderr
        line = lines[0]
        assert line.startswith("gantool: error: nothing was packed from") and "Traceback" not in r.stderr
        for word in ("corrupt", "not_an_image", "empty", "too_large", "not_a_file 1", "unreadable 1"):
            assert word in line, (word, line)
        assert f"({n + 2} image files" in line
        if extra:
            obj = r.json
            assert obj["ok"] is False and obj["exit_code"] == 1 and "nothing was packed" in obj["error"]
        else:
            assert r.stdout == ""
        # no dataset and no scratch folder anywhere under the working folder
        data = work / "data"
        assert not data.exists() or list(data.iterdir()) == [], list(data.iterdir())
        assert not [p for p in work.rglob("*") if ".partial-" in p.name or p.name == "manifest.json"]


@pytest.mark.slow
def test_face_mode_on_a_small_hostile_corpus(tmp_path, corpus):
    """The default --crop face: MTCNN sees the decodable photos (a 1x1, a 1x3000 strip, a flat
    black image batched together with a real face) and nothing else."""
    root, _ = corpus
    src = tmp_path / "mixed"
    src.mkdir()
    for name in ("good/astronaut.jpg", "size/one_by_one.png", "size/strip_1x3000.png", "color/bilevel.png",
                 "depth/gray16.png", "size/bomb_20000.png", "broken/trunc.jpg", "broken/random.png", "broken/zero.jpg"):
        shutil.copy(root / name, src / Path(name).name)
    os.mkfifo(src / "pipe.jpg")
    r = run_cli("prep", src, "--size", SIZE, "--out", tmp_path / "ds", "--workers", 1, "--batch", 3, "--json", timeout=300)
    assert r.rc == 0, r
    _stderr_is_progress_only(r)
    ds = open_dataset(tmp_path / "ds")
    assert [im["source"] for im in ds.manifest["images"]] == ["astronaut.jpg"]
    assert ds.load_all().shape == (1, SIZE, SIZE, 3)
    reasons = {s["source"]: s["reason"] for s in ds.manifest["skipped"]}
    assert reasons == {
        "one_by_one.png": "no_face", "strip_1x3000.png": "no_face", "bilevel.png": "no_face", "gray16.png": "no_face",
        "bomb_20000.png": "too_large", "trunc.jpg": "corrupt", "random.png": "not_an_image", "zero.jpg": "empty",
        "pipe.jpg": "not_a_file",
    }

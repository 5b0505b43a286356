"""Faults during training and sampling: SIGKILL at named points (gantool.faults), torn
checkpoints, SIGTERM, a full disk, and checkpoints or configs that do not belong to the run.

Every kill is followed by a resume; the final weights must equal an uninterrupted run's bit for
bit, and every checkpoint the index lists must stay readable.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import GANTOOL, copy_digits16, run_cli, run_in_process
from tfhelpers import checkpoint_tensors, tf

ARGS = ["dcgan", "--steps", 12, "--filters", 8, "--batch", 16, "--ckpt-every", 4, "--sample-every", 4,
        "--log-every", 2, "--keep", 5, "--ema", 0.9, "--augment", "--seed", 5, "-q", "--json"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory, digits16):
    root = tmp_path_factory.mktemp("faultws")
    copy_digits16(digits16, root / "data/digits_16")
    ref = run_in_process("train", *ARGS, "--out", root / "ref", cwd=root)
    assert ref.rc == 0, ref
    return root


def variables(prefix):
    return checkpoint_tensors(prefix, save_counter=False)


def assert_same(a, b):
    assert set(a) == set(b)
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def listed_checkpoints_readable(run):
    state = tf().train.get_checkpoint_state(str(run / "checkpoints"))
    paths = list(state.all_model_checkpoint_paths) if state else []
    for p in paths:
        variables(p)  # raises if torn
    return paths


def test_killed_at_every_fault_point_resumes_bit_identical(ws):
    run = ws / "chain"
    # each attempt dies at a different point; the next one resumes and dies at the next point
    faults = ["train.step@3", "checkpoint.written@1", "atomic.rename@4", "train.step@2"]
    first = True
    for fault in faults:
        args = ARGS + ["--out", run] if first else ["--resume", run, "-q", "--json"]
        res = run_cli("train", *args, cwd=ws, env={"GANTOOL_FAULT": fault})
        assert res.rc == -signal.SIGKILL, (fault, res)
        first = False
        listed_checkpoints_readable(run)
        if (run / "checkpoints" / "generator.keras").exists():  # never a torn .keras in place
            from gantool.run.generator import load_generator

            load_generator(run / "checkpoints" / "generator.keras")
    res = run_in_process("train", "--resume", run, "-q", "--json", cwd=ws)
    assert res.rc == 0, res
    assert res.json["step"] == 12
    assert_same(variables(ws / "ref/checkpoints/ckpt-12"), variables(run / "checkpoints/ckpt-12"))
    # metrics.jsonl has each logged step once, as the uninterrupted run
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    ref_steps = [json.loads(x)["step"] for x in (ws / "ref/metrics.jsonl").read_text().splitlines()]
    assert steps == ref_steps


def test_torn_newest_checkpoint_falls_back_with_a_message(ws):
    run = ws / "torn"
    shutil.copytree(ws / "ref", run)
    data = sorted((run / "checkpoints").glob("ckpt-12.data-*"))
    assert data
    with open(data[0], "r+b") as f:  # torn: the tail of the data file never reached the disk
        f.truncate(max(1, data[0].stat().st_size // 3))
    res = run_in_process("train", "--resume", run, "--steps", 14, "-q", "--json", cwd=ws)
    assert res.rc == 0, res
    assert res.json["start_step"] == 8 and res.json["step"] == 14
    assert any("skipped unreadable checkpoint ckpt-12" in n for n in res.json["notes"]), res.json["notes"]
    # every checkpoint torn: a clear error, exit 1, nothing overwritten
    run2 = ws / "torn_all"
    shutil.copytree(ws / "ref", run2)
    for p in (run2 / "checkpoints").glob("ckpt-*.data-*"):
        p.write_bytes(b"")
    before = {p.name: p.stat().st_mtime_ns for p in (run2 / "checkpoints").iterdir()}
    res = run_in_process("train", "--resume", run2, "--steps", 14, "-q", cwd=ws)
    assert res.rc == 1 and "no readable checkpoint" in res.stderr, res
    assert len(res.stderr.strip().splitlines()) == 1
    assert {p.name: p.stat().st_mtime_ns for p in (run2 / "checkpoints").iterdir()} == before


def test_sigterm_saves_and_exits_130_then_resumes(ws):
    run = ws / "term"
    proc = subprocess.Popen([GANTOOL, "train", *map(str, ARGS), "--steps", "400", "--out", str(run)], cwd=ws,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not (run / "metrics.jsonl").exists() or len((run / "metrics.jsonl").read_text().splitlines()) < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < 240
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert result["interrupted"] and result["ok"] is False
    step = result["step"]
    assert (run / "checkpoints" / f"ckpt-{step}.index").exists()
    res = run_in_process("train", "--resume", run, "--steps", step + 2, "-q", "--json", cwd=ws)
    assert res.rc == 0 and res.json["start_step"] == step and res.json["step"] == step + 2, res


def test_a_second_sigint_ends_the_run_at_once():
    """The first Ctrl-C asks the loop to finish its step and save; the second raises
    KeyboardInterrupt right where the program is (the CLI turns it into exit 130), without waiting
    for the step, the save or anything else. SIGTERM never aborts."""
    from gantool.stopflag import StopFlag

    before = signal.getsignal(signal.SIGINT)
    with StopFlag() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested == "SIGTERM"
        os.kill(os.getpid(), signal.SIGTERM)  # a second SIGTERM only asks again
        assert stop.requested == "SIGTERM"
    with StopFlag() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested == "SIGINT"
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)  # a long step or save that must not be waited for
        assert time.monotonic() - t0 < 5
    assert signal.getsignal(signal.SIGINT) is before  # handlers are given back


def limited(nbytes):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return pre


def test_disk_full_while_checkpointing_keeps_the_previous_state(ws):
    run = ws / "full"
    shutil.copytree(ws / "ref", run)
    before = variables(run / "checkpoints/ckpt-12")
    index = (run / "checkpoints" / "checkpoint").read_bytes()
    # files may grow to 20 kB: the checkpoint data (~200 kB) cannot be written
    proc = subprocess.run([GANTOOL, "train", "--resume", str(run), "--steps", "16", "-q"], cwd=ws, capture_output=True,
                          text=True, preexec_fn=limited(20_000), timeout=300)
    assert proc.returncode == 1, proc  # README: 1 = the run failed
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "File too large" in lines[0] or "No space" in lines[0] or "disk" in lines[0].lower(), lines[0]
    assert (run / "checkpoints" / "checkpoint").read_bytes() == index
    assert_same(before, variables(run / "checkpoints/ckpt-12"))
    res = run_in_process("train", "--resume", run, "--steps", 14, "-q", "--json", cwd=ws)
    assert res.rc == 0 and res.json["start_step"] == 12, res


def test_disk_full_during_prep_publishes_nothing(tmp_path):
    proc = subprocess.run([GANTOOL, "prep", "builtin:digits", "--size", "32", "--out", str(tmp_path / "d32"), "-q"],
                          cwd=tmp_path, capture_output=True, text=True, preexec_fn=limited(100_000), timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc
    assert "File too large" in lines[0] and "internal error" not in lines[0], lines
    assert list(tmp_path.iterdir()) == []  # no dataset, no staging folder left behind


def test_a_checkpoint_from_another_resolution_is_refused(ws, tmp_path):
    assert run_in_process("prep", "builtin:digits", "--size", 32, "-q", cwd=ws).rc == 0
    other = ws / "other32"
    res = run_in_process("train", "dcgan", "--size", 32, "--steps", 1, "--filters", 8, "--batch", 8, "--sample-every", 0,
                  "--out", other, "-q", cwd=ws)
    assert res.rc == 0, res
    run = ws / "mixed"
    shutil.copytree(ws / "ref", run)
    for p in (run / "checkpoints").glob("ckpt-*"):
        p.unlink()
    for p in (other / "checkpoints").glob("ckpt-1*"):
        shutil.copy(p, run / "checkpoints" / p.name)
    shutil.copy(other / "checkpoints" / "checkpoint", run / "checkpoints" / "checkpoint")
    res = run_in_process("train", "--resume", run, "--steps", 14, "-q", cwd=ws)
    assert res.rc == 2, res
    line = res.stderr.strip().splitlines()
    assert len(line) == 1 and "does not fit this run" in line[0], res.stderr
    # sample refuses the foreign checkpoint prefix the same way
    res = run_in_process("sample", run / "checkpoints" / "ckpt-1", "--count", 2, "--out", tmp_path / "s", "-q", cwd=ws)
    assert res.rc == 2 and "does not fit this run" in res.stderr, res


def test_sample_killed_mid_write_is_never_presented_as_complete(ws):
    out = ws / "samples_killed"
    res = run_cli("sample", ws / "ref", "--count", 40, "--batch", 8, "--npz", out / "all.npz", "--out", out, "-q",
                  cwd=ws, env={"GANTOOL_FAULT": "sample.batch@2"})
    assert res.rc == -signal.SIGKILL, res
    assert not (out / "sample.json").exists() and not (out / "all.npz").exists()
    res = run_cli("sample", ws / "ref", "--count", 40, "--batch", 8, "--npz", out / "all.npz", "--out", out, "-q",
                  "--json", cwd=ws)
    assert res.rc == 0, res
    with np.load(out / "all.npz", allow_pickle=False) as z:
        assert z["images"].shape[0] == 40
    assert json.loads((out / "sample.json").read_text())["count"] == 40
    assert not list(out.glob(".*.tmp")), list(out.iterdir())  # the killed run's temp file is gone


@pytest.mark.parametrize("doc,edit,message", [
    pytest.param("config.json", {"schema": 99}, "schema 99 is not supported", marks=pytest.mark.entry_point),
    ("config.json", {"kind": "something.else"}, "is not a gantool run"),
    ("config.json", {"config": None}, "no settings"),
    ("config.json", {"config": {"variant": "dcgan"}}, "invalid settings"),
])
def test_run_config_of_another_schema_is_refused(ws, cli, doc, edit, message):
    run = ws / f"cfg_{abs(hash(json.dumps(edit)))}"
    shutil.copytree(ws / "ref", run)
    path = run / doc
    d = json.loads(path.read_text())
    d.update(edit)
    path.write_text(json.dumps(d))
    res = cli("train", "--resume", run, "--steps", 14, "-q", cwd=ws)
    assert res.rc == 2, res
    assert len(res.stderr.strip().splitlines()) == 1 and message in res.stderr, res.stderr

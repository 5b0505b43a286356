"""Resume is exact: a run SIGKILLed mid-training and resumed ends with weights bit-identical to
one that was never interrupted (tfhelpers.assert_same_training_state); Ctrl-C saves a checkpoint
and exits 130."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import GANTOOL, run_cli, run_in_process
from tfhelpers import assert_same_training_state, checkpoint_tensors

# every source of randomness the engine has: data order, z, EMA, augmentation, both noises, alt steps
ARGS = ["dcgan", "--steps", 120, "--filters", 8, "--batch", 16, "--ckpt-every", 40, "--sample-every", 0,
        "--log-every", 5, "--ema", 0.99, "--augment", "--instance-noise", 0.1, "--g-noise", 0.1,
        "--alt-every", 7, "--seed", 3, "-q"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("resumews")
    assert run_cli("prep", "builtin:digits", "--size", 16, "--shard-size", 700, "-q", cwd=root).rc == 0
    return root


def popen(args, cwd):
    return subprocess.Popen([GANTOOL, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(pred, proc, timeout=240):
    t0 = time.monotonic()
    while not pred():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.02)


def loss_lines(run):
    out = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        out[(r["step"], "pfd8" in r)] = {k: v for k, v in r.items() if k not in ("time", "img_per_s", "elapsed")}
    return out


def metric_steps(run):
    try:
        return [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    except (OSError, ValueError):
        return []


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical(ws):
    whole = run_in_process("train", *ARGS, "--out", "runs/whole", cwd=ws)
    assert whole.rc == 0, whole
    killed = ws / "runs/killed"
    proc = popen(["train", *ARGS, "--out", killed], ws)
    # kill after the step-40 checkpoint, in the middle of the steps that follow it
    wait_for(lambda: (killed / "checkpoints/ckpt-40.index").exists() and max(metric_steps(killed), default=0) >= 50, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "checkpoints/ckpt-120.index").exists()
    res = run_in_process("train", "--resume", killed, "--json", cwd=ws)
    assert res.rc == 0, res
    assert res.json["start_step"] in (40, 80) and res.json["step"] == 120
    a, b = (checkpoint_tensors(p / "checkpoints/ckpt-120") for p in (ws / "runs/whole", killed))
    assert len(a) > 40
    assert_same_training_state(a, b)
    # the lost steps' log lines were dropped and redone: the metrics agree line for line
    assert loss_lines(ws / "runs/whole") == loss_lines(killed)


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_130_then_resumes(ws):
    run = ws / "runs/ctrlc"
    proc = popen(["train", "dcgan", "--steps", 100000, "--filters", 8, "--batch", 8, "--ckpt-every", 100000,
                  "--log-every", 5, "--out", run], ws)
    wait_for(lambda: max(metric_steps(run), default=0) >= 10, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "--resume" in err and "Traceback" not in err
    state = json.loads((run / "checkpoints/state.json").read_text())
    stopped = state["step"]
    assert 10 <= stopped < 100000 and (run / f"checkpoints/ckpt-{stopped}.index").exists()
    res = run_in_process("train", "--resume", run, "--steps", stopped + 5, "--json", cwd=ws)
    assert res.rc == 0 and res.json["start_step"] == stopped and res.json["step"] == stopped + 5, res
    assert os.path.exists(run / "losses.png")

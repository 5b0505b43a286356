"""Scale (issue 7): megapixel sizes (pggan's 1024 stage: tests/test_pggan.py), gradient accumulation, mixed precision, the dry-run memory
estimate, and training under tf.distribute (2 logical CPUs; two worker processes on 127.0.0.1).

Equality checks compare checkpoint variables of two real runs through the CLI (in this process,
`run_in_process`, unless a run needs its own: split CPU devices, TF_CONFIG workers). Float sums in
another order (an all-reduce, micro-batches) move weights by ~1e-7 per step; the tolerance
1e-4 is far below what one step with a different z or batch changes (~1e-3, checked below).
"""

import json
import os
import socket
import subprocess

import numpy as np
import pytest

from conftest import GANTOOL, copy_digits16, run_cli, run_in_process
from tfhelpers import checkpoint_tensors, tf

TOL = 1e-4
BASE = ["--filters", 8, "--batch", 16, "--sample-every", 0, "--log-every", 1, "--grid", 2, "-q", "--json"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory, digits16):
    root = tmp_path_factory.mktemp("scalews")
    copy_digits16(digits16, root / "d16")
    return root


def weights(run, step):
    return {k: v for k, v in checkpoint_tensors(run / "checkpoints" / f"ckpt-{step}").items() if v.dtype.kind == "f"}


def max_diff(a, b):
    assert set(a) == set(b)
    return max(float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) for k in a)


def train(ws, out, *args, env=None, steps=4):
    # GANTOOL_CPU_DEVICES splits the CPU at TensorFlow's start: such a run needs a fresh process
    runner = run_cli if env else run_in_process
    res = runner("train", *args, "--data", ws / "d16", "--out", ws / out, "--steps", steps, *BASE, cwd=ws, env=env)
    assert res.rc == 0, res
    return res.json


# gan has no BatchNorm, so micro-batches must add up to one big batch; wgan-gp, augmentation and
# instance noise make every kind of random draw (z, GP mixing, flips, shifts, noise) matter
GA_ARGS = ["gan", "--loss", "wgan-gp", "--augment", "--instance-noise", 0.1, "--g-noise", 0.1]


@pytest.fixture(scope="module")
def ga1(ws):
    """The one-device, one-batch gan run the accumulated ones are compared with (4 steps)."""
    return train(ws, "ga1", *GA_ARGS)


def test_grad_accum_equals_one_big_batch(ws, ga1):
    args, one = GA_ARGS, ga1
    four = train(ws, "ga4", *args, "--grad-accum", 4)
    assert one["step"] == four["step"] == 4
    d = max_diff(weights(ws / "ga1", 4), weights(ws / "ga4", 4))
    assert d < TOL, d
    train(ws, "ga_seed", *args, "--seed", 1)  # the tolerance is meaningful: another z moves weights
    assert max_diff(weights(ws / "ga1", 4), weights(ws / "ga_seed", 4)) > 100 * TOL


def test_grad_accum_must_divide_the_batch(ws):
    res = run_in_process("train", "gan", "--data", ws / "d16", "--out", ws / "bad", "--batch", 10, "--grad-accum", 4,
                  "--steps", 1, "-q", cwd=ws)
    assert res.rc == 2 and "--grad-accum 4: must divide the batch 10" in res.stderr, res
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def one_device(ws):
    """The one-device dcgan run both strategies are compared with: 6 steps, checkpoints at 5 and 6
    (when a run checkpoints does not change its weights); -> {step: its metrics record}."""
    train(ws, "m1", "dcgan", "--ckpt-every", 5, steps=6)
    return {r["step"]: r for r in map(json.loads, (ws / "m1/metrics.jsonl").read_text().splitlines()) if "d_loss" in r}


def test_mirrored_two_devices_matches_one_device_and_resumes(ws, one_device):
    """dcgan has BatchNorm, synchronised across replicas: 2 replicas x 8 rows == 1 device x 16."""
    env = {"GANTOOL_CPU_DEVICES": "2"}
    part = train(ws, "m2", "dcgan", "--strategy", "mirrored", env=env, steps=3)
    assert part["replicas"] == 2 and part["strategy"] == "mirrored"
    res = run_cli("train", "--resume", ws / "m2", "--steps", 6, "-q", "--json", cwd=ws, env=env)
    assert res.rc == 0, res
    assert res.json["start_step"] == 3 and res.json["step"] == 6
    d = max_diff(weights(ws / "m1", 6), weights(ws / "m2", 6))
    assert d < TOL, d
    assert abs(one_device[6]["d_loss"] - res.json["last"]["d_loss"]) < 1e-4
    # and a mirrored run resumes on one device (the strategy is how, not what)
    res = run_in_process("train", "--resume", ws / "m2", "--steps", 7, "--strategy", "default", "-q", "--json", cwd=ws)
    assert res.rc == 0 and res.json["replicas"] == 1, res


def test_grad_accum_on_two_mirrored_replicas_adds_up_and_trains_batchnorm(ws, ga1):
    """Under more than one replica the micro-batch loop is written out (merge_call, which assigns
    BatchNorm's replica-averaged moving statistics, cannot run inside a tf.while_loop): gan's 2
    replicas x 2 micro-batches of 4 rows equal one batch of 16, and dcgan (BatchNorm) trains."""
    env = {"GANTOOL_CPU_DEVICES": "2"}
    two = train(ws, "ga_m2", *GA_ARGS, "--grad-accum", 2, "--strategy", "mirrored", env=env)
    assert two["replicas"] == 2 and two["step"] == 4
    d = max_diff(weights(ws / "ga1", 4), weights(ws / "ga_m2", 4))
    assert d < TOL, d
    bn = train(ws, "bn_m2", "dcgan", "--grad-accum", 2, "--strategy", "mirrored", env=env, steps=2)
    assert bn["replicas"] == 2 and bn["step"] == 2 and all(np.isfinite(v) for v in bn["last"].values())
    moving = [v for k, v in weights(ws / "bn_m2", 2).items() if k.startswith("discriminator/") and "moving_mean" in k]
    assert moving and all(np.abs(v).max() > 0 for v in moving)  # D's moving means left their zero start


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def run_workers(ws, args):
    """Two `gantool train --strategy multiworker` processes on 127.0.0.1; -> their JSON results."""
    hosts = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for i in (1, 0):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": i}}))
        procs.append(subprocess.Popen([GANTOOL, *map(str, args)], cwd=ws, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL))
    outs = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        assert p.returncode == 0, stderr[-2000:]
        outs.append(json.loads(stdout))
    worker, chief = outs
    return chief, worker


def test_multiworker_two_processes_agree_match_one_device_and_resume(ws, one_device):
    args = ["train", "dcgan", "--data", ws / "d16", "--out", ws / "mw", "--steps", 3, "--strategy", "multiworker", *BASE]
    chief, worker = run_workers(ws, args)
    assert chief["task"] == "worker 0" and worker["task"] == "worker 1"
    assert chief["replicas"] == worker["replicas"] == 2
    assert chief["weights_sha256"] == worker["weights_sha256"]          # the workers agree exactly
    assert worker["checkpoint"] is None and chief["checkpoint"]          # only the chief wrote the run
    chief, worker = run_workers(ws, ["train", "--resume", ws / "mw", "--steps", 5, "-q", "--json"])
    assert chief["start_step"] == worker["start_step"] == 3 and chief["step"] == 5
    assert chief["weights_sha256"] == worker["weights_sha256"]
    d = max_diff(weights(ws / "m1", 5), weights(ws / "mw", 5))
    assert d < TOL, d
    assert sorted(p.name for p in (ws / "mw" / "checkpoints").glob("ckpt-*.index")) == ["ckpt-3.index", "ckpt-5.index"]
    assert abs(one_device[5]["g_loss"] - chief["last"]["g_loss"]) < 1e-4


def test_multiworker_needs_tf_config_and_out(ws):
    env = {"TF_CONFIG": ""}
    res = run_cli("train", "dcgan", "--data", ws / "d16", "--out", ws / "x", "--strategy", "multiworker", cwd=ws, env=env)
    assert res.rc == 2 and "TF_CONFIG is not set" in res.stderr, res
    env = {"TF_CONFIG": json.dumps({"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}})}
    res = run_cli("train", "dcgan", "--data", ws / "d16", "--strategy", "multiworker", cwd=ws, env=env)
    assert res.rc == 2 and "give --out" in res.stderr, res
    res = run_cli("train", "dcgan", "--data", ws / "d16", "--strategy", "ring", cwd=ws)
    assert res.rc == 2 and "--strategy: must be one of default, mirrored, multiworker" in res.stderr, res


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_resumes_and_samples(ws, precision):
    name = f"mp_{precision}"
    out = train(ws, name, "dcgan", "--precision", precision, steps=3)
    assert all(np.isfinite(v) for v in out["last"].values())
    res = run_in_process("train", "--resume", ws / name, "--steps", 5, "-q", "--json", cwd=ws)
    assert res.rc == 0 and res.json["step"] == 5, res
    names = set(weights(ws / name, 5))
    if precision == "mixed_float16":  # the loss scale is part of the state
        assert any("scale" in n for n in names), sorted(names)[:20]
    res = run_in_process("sample", ws / name, "--count", 4, "--out", ws / f"{name}_s", "-q", "--json", cwd=ws)
    assert res.rc == 0, res
    tf()
    import keras

    g = keras.models.load_model(ws / name / "checkpoints" / "generator.keras", compile=False)
    assert g.layers[-2].compute_dtype == precision.split("_")[1]


@pytest.fixture(scope="module")
def mega(tmp_path_factory):
    """Two 1024 px photos packed by the real prep (centre crop)."""
    import cv2

    root = tmp_path_factory.mktemp("mega")
    raw = root / "raw"
    raw.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        img = cv2.GaussianBlur(rng.integers(0, 256, (1100, 1024, 3), dtype=np.uint8), (31, 31), 0)
        cv2.imwrite(str(raw / f"p{i}.png"), img)
    res = run_in_process("prep", raw, "--size", 1024, "--crop", "center", "--out", root / "d1024", "-q", "--json", cwd=root)
    assert res.rc == 0, res
    return root


def test_dcgan_1024_builds_and_steps(mega):
    common = ["--data", mega / "d1024", "--filters", 4, "--max-filters", 32, "--grid", 1, "--sample-every", 0]
    res = run_in_process("train", "dcgan", *common, "--batch-schedule", "megapixel", "--dry-run", "--json", cwd=mega)
    assert res.rc == 0, res
    assert res.json["config"]["batch"] == 6 and res.json["config"]["size"] == 1024  # the report's batch at 1024
    est = res.json["estimate"]
    assert est["params"]["generator"] > 0 and est["params"]["discriminator"] > 0
    res2 = run_in_process("train", "dcgan", *common, "--batch", 2, "--grad-accum", 2, "--dry-run", "--json", cwd=mega)
    assert res2.json["estimate"]["micro_batch"] == 1
    assert res2.json["estimate"]["params"] == est["params"]
    # activations scale with the micro-batch: 6 images vs 1
    a6, a1 = est["memory_bytes"]["activations"], res2.json["estimate"]["memory_bytes"]["activations"]
    assert a6 == 6 * a1
    res = run_in_process("train", "dcgan", *common, "--batch", 2, "--steps", 1, "--out", mega / "r", "-q", "--json",
                         cwd=mega)
    assert res.rc == 0, res
    assert res.json["step"] == 1 and all(np.isfinite(v) for v in res.json["last"].values())
    import cv2

    assert min(cv2.imread(str(mega / "r" / "samples" / "final.png")).shape[:2]) >= 1024

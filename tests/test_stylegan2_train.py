"""`gantool train stylegan2` through `gantool.cli.main` (the killed run through the entry point): a tiny run (8 px, 8 filters, 2 mapping layers,
z 16, batch 8, --augment ada) trains, writes samples and checkpoints; lazy R1 and path length run
exactly on their due steps; a SIGKILLed run resumes bit-identical; dry-run counts and refusals."""

import json
import shutil
import signal

import numpy as np
import pytest

from conftest import SG2_ARGS, run_cli, run_in_process
from gantool.cli import main
from tfhelpers import checkpoint_tensors


@pytest.fixture(scope="module")
def ws(tmp_path_factory, sg2_run):
    """The session's 2-step run (conftest.sg2_run) as `ref`, with its dataset, in a folder of our own."""
    root = tmp_path_factory.mktemp("sg2ws")
    for name in ("data", "ref"):
        shutil.copytree(sg2_run / name, root / name)
    return root


def test_stylegan2_trains_with_lazy_r1_and_path_length_on_their_due_steps(ws):
    run = ws / "ref"
    assert (run / "samples" / "final.png").exists() and (run / "checkpoints" / "ckpt-2.index").exists()
    recs = {r["step"]: r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "d_loss" in r}
    first, second = recs[1], recs[2]  # 0-based steps 0 (R1 every 16 and PL every 4 due) and 1 (neither)
    assert first["r1"] > 0 and first["pl"] > 0 and first["pl_mean"] > 0, first
    assert second["r1"] == 0 and second["pl"] == 0 and second["pl_mean"] == first["pl_mean"], second
    v = checkpoint_tensors(run / "checkpoints" / "ckpt-2", save_counter=False)
    assert np.isclose(v["pl_mean/.ATTRIBUTES/VARIABLE_VALUE"], first["pl_mean"])
    assert "ada_p/.ATTRIBUTES/VARIABLE_VALUE" in v and any("generator_ema" in k for k in v)
    cfg = json.loads((run / "config.json").read_text())["config"]
    assert cfg["variant"] == "stylegan2" and cfg["map_layers"] == 2 and cfg["latent"] == "normal"
    from gantool.run.generator import load_generator

    g = load_generator(run / "checkpoints" / "generator.keras")
    assert g.model.get_layer("mapping").get_layer("w_avg") is not None


def test_sigkilled_stylegan2_ada_run_resumes_bit_identical(ws):
    run = ws / "killed"
    res = run_cli("train", *SG2_ARGS, "--steps", 2, "--out", run, cwd=ws, env={"GANTOOL_FAULT": "checkpoint.written@1"})
    assert res.rc == -signal.SIGKILL, res
    res = run_in_process("train", "--resume", run, "-q", "--json", cwd=ws)
    assert res.rc == 0 and res.json["start_step"] == 1 and res.json["step"] == 2, res
    a, b = (checkpoint_tensors(p / "checkpoints/ckpt-2", save_counter=False) for p in (ws / "ref", run))
    assert set(a) == set(b)
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_a_stylegan2_step_on_two_mirrored_replicas_matches_one_device(ws):
    """Per-pixel noise drawn for the global batch and minibatch-stddev groups of consecutive rows:
    a step on 2 replicas x 4 rows equals one device's 8 rows (with ADA): step 1 of `ref`, resumed
    from its ckpt-1 under mirrored. (On due steps R1 and path length use each replica's own mean,
    as the reference code does per GPU, so those steps differ a little.)"""
    one, two = ws / "ref", ws / "two8"
    shutil.copytree(one, two)
    for f in (two / "checkpoints").glob("ckpt-2.*"):
        f.unlink()  # unreadable: the resume starts from ckpt-1
    res = run_cli("train", "--resume", two, "--strategy", "mirrored", "-q", "--json", cwd=ws,
                  env={"GANTOOL_CPU_DEVICES": "2"})
    assert res.rc == 0 and res.json["start_step"] == 1 and res.json["replicas"] == 2, res
    a, b = (checkpoint_tensors(p / "checkpoints/ckpt-2", save_counter=False) for p in (one, two))
    assert set(a) == set(b)
    d = max(float(np.max(np.abs(a[k].astype(np.float64) - b[k]))) for k in a if a[k].dtype.kind == "f")
    assert d < 1e-4, d  # the noise or the groups of another split move weights by ~0.1 (checked)


def test_stylegan2_trains_on_two_mirrored_replicas_with_grad_accum(ws):
    """2 replicas x 2 micro-batches: the tracked mean w (replica-averaged, assigned through
    merge_call) and the lazy R1 / path length (tf.cond) inside the written-out micro-batch loop.
    Without ADA, whose graph would be traced four times over here (the ADA run: tests/test_train_ada.py)."""
    i = SG2_ARGS.index("--augment")
    assert SG2_ARGS[i:i + 4:2] == ["--augment", "--ada-kimg"]
    res = run_cli("train", *SG2_ARGS[:i], *SG2_ARGS[i + 4:], "--steps", 1, "--grad-accum", 2, "--strategy", "mirrored",
                  "--out", ws / "m2", cwd=ws, env={"GANTOOL_CPU_DEVICES": "2"})
    assert res.rc == 0, res
    assert res.json["replicas"] == 2 and res.json["step"] == 1
    last = res.json["last"]
    assert last["r1"] > 0 and last["pl"] > 0 and all(np.isfinite(v) for v in last.values()), last
    v = checkpoint_tensors(ws / "m2" / "checkpoints" / "ckpt-1", save_counter=False)
    w_avg = [x for k, x in v.items() if k.startswith("generator/") and "w_avg" in k]
    assert w_avg and all(np.abs(x).max() > 0 for x in w_avg)  # moved from its zero start


def test_a_mixed_bfloat16_run_traces_one_step_for_every_set_of_lazy_terms(ws, monkeypatch):
    """Steps 0 (R1 and path length due), 1 (neither) and 4 (path length only) run one traced
    function: the lazy terms are a tf.cond on the step counter, not a compiled step of their own.
    Under --precision mixed_bfloat16 (the path length's gradients are bfloat16: it crashed once)."""
    from gantool.train import segments

    made, make_steps = [], segments.make_steps

    def spy(*args, **kw):
        steps = make_steps(*args, **kw)
        made.append(steps[0])
        return steps

    monkeypatch.setattr(segments, "make_steps", spy)
    res = run_in_process("train", *SG2_ARGS, "--steps", 5, "--ckpt-every", 5, "--precision", "mixed_bfloat16",
                         "--out", ws / "five", cwd=ws)  # (the last --ckpt-every wins: one checkpoint, at the end)
    assert res.rc == 0, res
    assert len(made) == 1 and made[0].experimental_get_tracing_count() == 1
    recs = [r for r in map(json.loads, (ws / "five/metrics.jsonl").read_text().splitlines()) if "d_loss" in r]
    assert [r["step"] for r in recs if r["r1"] > 0] == [1] and [r["step"] for r in recs if r["pl"] > 0] == [1, 5]


def test_stylegan2_dry_run_counts_parameters_and_scales_with_grad_accum(ws):
    common = ["stylegan2", "--filters", 8, "--max-filters", 16, "--map-layers", 2, "--z-dim", 16, "--batch", 8]
    res = run_in_process("train", *common, "--dry-run", "--json", cwd=ws)
    assert res.rc == 0, res
    est = res.json["estimate"]
    assert est["params"]["generator"] > 2 * 16 * 16 and est["params"]["discriminator"] > 0
    res2 = run_in_process("train", *common, "--grad-accum", 2, "--precision", "mixed_bfloat16", "--style-mixing", 0,
                          "--pl-weight", 0.5, "--dry-run", "--json", cwd=ws)
    assert res2.rc == 0, res2
    assert res.json["config"]["style_mixing"] == 0.9 and res.json["config"]["pl_weight"] == 2.0
    assert res2.json["config"]["style_mixing"] == 0 and res2.json["config"]["pl_weight"] == 0.5
    e2 = res2.json["estimate"]
    assert e2["micro_batch"] == 4 and e2["params"] == est["params"]
    # activations: half the micro-batch, 2-byte compute dtype (nested mapping/synthesis layers counted)
    assert e2["memory_bytes"]["activations"] * 4 == est["memory_bytes"]["activations"] > 0


@pytest.mark.parametrize("args, needle", [
    (["stylegan2", "--ema", 0.999], "--ema: stylegan2 does not use it (its G EMA is always on, by half-life: --ema-kimg)"),
    (["stylegan2", "--kernel", 3], "--kernel: stylegan2 does not use it"),
    (["dcgan", "--map-layers", 4], "--map-layers: dcgan does not use it"),
    (["gan", "--ema-kimg", 10], "--ema-kimg: gan does not use it"),
    (["dcgan", "--style-mixing", 0], "--style-mixing: dcgan does not use it"),
    (["pggan", "--pl-weight", 0], "--pl-weight: pggan does not use it"),
])
def test_options_stylegan2_does_not_use_or_owns_are_refused(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *map(str, args), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err

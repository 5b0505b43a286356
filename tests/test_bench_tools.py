"""The benchmark scripts' own logic: bench/kernels_bench.py reads oneDNN's verbose lines right
(only the timed steps' primitives, per kind and propagation, a convolution's arithmetic from its
problem string); bench/variants_bench.py counts the FLOPs of the step `gantool train` traces (it
once broke silently when the step changed)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from kernels_bench import END, START, by_kind, conv_flops, primitives  # noqa: E402

CONV = ("onednn_verbose,v1,primitive,exec,cpu,convolution,{impl},{prop},src:f32::blocked:acdb::f0 "
        "wei:f32:a:blocked:Acdb32a::f0 dst:f32::blocked:acdb::f0,attr-scratchpad:user,alg:convolution_direct,"
        "mb64_ic64oc128_ih32oh16kh4sh2dh0ph1_iw32ow16kw4sw2dw0pw1,{ms}")
REORDER = ("onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32::blocked:cdba::f0 "
           "dst:f32:p:blocked:Acdb24a::f0,,,128x64x4x4,{ms}")


def test_conv_flops_reads_the_problem_string():
    # 2 * 64 images * 64 in * 128 out * 16 * 16 outputs * 4 * 4 taps
    assert conv_flops("mb64_ic64oc128_ih32oh16kh4sh2dh0ph1_iw32ow16kw4sw2dw0pw1") == 2.0 * 64 * 64 * 128 * 16 * 16 * 16
    assert conv_flops("mb2_g2ic4oc4_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1") == 2.0 * 2 * 4 * 4 * 8 * 8 * 9 / 2


def test_only_the_timed_steps_primitives_are_counted_and_grouped_by_kind():
    text = "\n".join([
        CONV.format(impl="brg_conv_fwd:avx2", prop="forward_training", ms=999.0),  # warm-up: before the marker
        "onednn_verbose,v1,info,cpu,isa:Intel AVX2",
        START,
        CONV.format(impl="brg_conv_fwd:avx2", prop="forward_training", ms=10.0),
        CONV.format(impl="jit:avx2", prop="backward_weights", ms=20.0),
        REORDER.format(ms=1.5),
        CONV.format(impl="brg_conv_fwd:avx2", prop="forward_training", ms=30.0),
        "onednn_verbose,v1,primitive,create:cache_miss,cpu,reorder,jit:uni,undef,x,,,1x1,0.01",  # not an execution
        END,
        REORDER.format(ms=777.0),  # after the timed steps
    ])
    rows = primitives(text)
    assert [r["ms"] for r in rows] == [10.0, 20.0, 1.5, 30.0]
    kinds = {(k["kind"], k["prop"]): k for k in by_kind(rows, steps=2)}
    fwd = kinds[("convolution", "forward_training")]
    assert fwd["ms_per_step"] == 20.0 and fwd["calls_per_step"] == 1.0 and fwd["impls"] == ["brg_conv_fwd:avx2"]
    flops = 2.0 * 64 * 64 * 128 * 16 * 16 * 16
    assert fwd["gflop_per_s"] == pytest.approx(2 * flops / 0.040 / 1e9)
    assert kinds[("convolution", "backward_weights")]["ms_per_step"] == 10.0
    assert kinds[("reorder", "")]["ms_per_step"] == 0.75 and kinds[("reorder", "")]["gflop_per_s"] is None
    assert [k["kind"] for k in by_kind(rows, 2)][0] == "convolution"  # sorted by time, largest first


def test_variants_bench_counts_the_flops_of_the_step_gantool_trains():
    import numpy as np

    from gantool.config import TrainConfig
    from gantool.tfquiet import import_tf
    from gantool.train.state import build_state
    from variants_bench import step_flops

    tf = import_tf()
    cfg = TrainConfig(variant="dcgan", data="-", run_dir="-", dataset_name="t", size=16, channels=1, steps=10,
                      batch=4, filters=4, max_filters=16, z_dim=8).validate()
    real = tf.constant(np.zeros((4, 16, 16, 1), np.uint8))
    f = step_flops(build_state(cfg), real, 1)
    assert list(f["by_due"]) == ["plain"] and f["by_due"]["plain"]["steps_per_cycle"] == 1
    # the tape also writes gradients nobody uses (D's filter gradients in the G update): pruned, not counted
    assert 0 < f["gflop_live"] < f["gflop_graph"]
    by_type = f["by_due"]["plain"]["gflop_by_type"]
    assert by_type["Conv2D"] > 0 and by_type["Conv2DBackpropFilter"] > 0 and by_type["Conv2DBackpropInput"] > 0

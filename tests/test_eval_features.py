"""The feature pipeline: a randomly initialised Inception of the real interface end to end, the
offline message, and the graph rewrite of the op TF 2 no longer runs."""

import numpy as np
import pytest

from gantool.errors import UsageError
from gantool.eval import features, fid
from tfhelpers import tf


def test_random_inception_features_end_to_end():
    net = features.random_inception(seed=0)
    r = np.random.default_rng(0)
    grey = r.integers(0, 256, (6, 16, 16, 1), dtype=np.uint8)
    f = net.extract(grey, batch=4)
    assert f.shape == (6, 2048) and np.isfinite(f).all() and net.dim == 2048
    np.testing.assert_allclose(net.extract(grey, batch=6), f, rtol=1e-4, atol=1e-6)  # batching does not matter
    assert abs(fid.fid(f, f)) < 1e-6
    rgb = r.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    assert fid.fid(f, net.extract(rgb)) > 0


def test_missing_network_names_the_file_and_where(tmp_path, monkeypatch):
    monkeypatch.delenv(features.ENV, raising=False)
    with pytest.raises(UsageError) as e:
        features.load_feature_net(str(tmp_path / "nope.pb"))
    msg = e.value.message
    assert "classify_image_graph_def.pb" in msg and "--inception" in msg and features.ENV in msg and "never downloads" in msg
    monkeypatch.setenv(features.ENV, str(tmp_path / "also-missing.pb"))
    with pytest.raises(UsageError, match="also-missing.pb"):
        features.load_feature_net(None)
    bad = tmp_path / "junk.pb"
    bad.write_bytes(b"not a graph")
    with pytest.raises(UsageError, match="GraphDef"):
        features.load_feature_net(str(bad))


def test_global_batchnorm_rewrite_computes_the_op():
    """A GraphDef holding the old op (as a 2015 graph does) is rewritten and runs like its formula."""
    t = tf()
    from google.protobuf import text_format

    r = np.random.default_rng(1)
    x = r.normal(size=(2, 3, 3, 4)).astype(np.float32)
    m, v, beta, gamma = (r.normal(size=4).astype(np.float32) for _ in range(4))
    v = np.abs(v) + 0.1
    gd = t.compat.v1.GraphDef()
    for name, val in (("m", m), ("v", v), ("beta", beta), ("gamma", gamma)):
        n = gd.node.add()
        n.op, n.name = "Const", name
        n.attr["dtype"].type = t.float32.as_datatype_enum
        n.attr["value"].tensor.CopyFrom(t.make_tensor_proto(val))
    text_format.Parse("""
        name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }
    """, gd.node.add())
    text_format.Parse("""
        name: "bn" op: "BatchNormWithGlobalNormalization"
        input: "x" input: "m" input: "v" input: "beta" input: "gamma"
        attr { key: "T" value { type: DT_FLOAT } }
        attr { key: "variance_epsilon" value { f: 0.001 } }
        attr { key: "scale_after_normalization" value { b: true } }
    """, gd.node.add())
    new = features.rewrite_global_batchnorm(gd)
    assert "BatchNormWithGlobalNormalization" not in {n.op for n in new.node}

    def run(inp):
        out, = t.compat.v1.import_graph_def(new, input_map={"x:0": inp}, return_elements=["bn:0"], name="g")
        return out

    fn = t.compat.v1.wrap_function(run, [t.TensorSpec([None, 3, 3, 4], t.float32)])
    want = (x - m) / np.sqrt(v + 0.001) * gamma + beta
    np.testing.assert_allclose(fn(t.constant(x)).numpy(), want, rtol=1e-5, atol=1e-6)


def fake_inception_graph(path, seed=0, dim=2048):
    """A GraphDef with the 2015 graph's interface: input tensor ExpandDims:0 (float RGB 0-255),
    the removed op BatchNormWithGlobalNormalization, output pool_3:0 of shape [N, 1, 1, dim].
    Returns the numpy function it computes."""
    t = tf()
    from google.protobuf import text_format

    r = np.random.default_rng(seed)
    w = r.normal(scale=0.01, size=(1, 1, 3, dim)).astype(np.float32)
    m, beta, gamma = (r.normal(size=dim).astype(np.float32) for _ in range(3))
    v = (np.abs(r.normal(size=dim)) + 0.5).astype(np.float32)
    gd = t.compat.v1.GraphDef()
    for name, val in (("w", w), ("m", m), ("v", v), ("beta", beta), ("gamma", gamma), ("axes", np.array([1, 2], np.int32))):
        n = gd.node.add()
        n.op, n.name = "Const", name
        n.attr["dtype"].type = t.as_dtype(val.dtype).as_datatype_enum
        n.attr["value"].tensor.CopyFrom(t.make_tensor_proto(val))
    for text in (
        'name: "ExpandDims" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } }',
        'name: "conv" op: "Conv2D" input: "ExpandDims" input: "w" attr { key: "T" value { type: DT_FLOAT } } '
        'attr { key: "strides" value { list { i: 1 i: 1 i: 1 i: 1 } } } attr { key: "padding" value { s: "SAME" } }',
        'name: "bn" op: "BatchNormWithGlobalNormalization" input: "conv" input: "m" input: "v" input: "beta" '
        'input: "gamma" attr { key: "T" value { type: DT_FLOAT } } attr { key: "variance_epsilon" value { f: 0.001 } } '
        'attr { key: "scale_after_normalization" value { b: true } }',
        'name: "pool_3" op: "Mean" input: "bn" input: "axes" attr { key: "T" value { type: DT_FLOAT } } '
        'attr { key: "Tidx" value { type: DT_INT32 } } attr { key: "keep_dims" value { b: true } }',
    ):
        text_format.Parse(text, gd.node.add())
    path.write_bytes(gd.SerializeToString())

    def expected(images_uint8):
        x = images_uint8.astype(np.float32)
        if x.shape[-1] == 1:
            x = np.repeat(x, 3, -1)
        conv = (x @ w[0, 0]).mean(axis=(1, 2))
        return (conv - m) / np.sqrt(v + 0.001) * gamma + beta

    return expected


def test_graph_file_loads_through_the_rewrite_and_gives_pool3_features(tmp_path):
    """The .pb path end to end on a small graph of the same interface as classify_image_graph_def.pb."""
    expected = fake_inception_graph(tmp_path / "classify_image_graph_def.pb")
    net = features.load_feature_net(str(tmp_path / "classify_image_graph_def.pb"))
    assert net.name == "inception-2015-12-05 (graph)" and net.dim == 2048
    imgs = np.random.default_rng(3).integers(0, 256, (5, 16, 16, 1), dtype=np.uint8)
    f = net.extract(imgs, batch=2)
    assert f.shape == (5, 2048)
    np.testing.assert_allclose(f, expected(imgs), rtol=2e-4, atol=2e-4)


def structural_graph(path, convs=94, weights=(2048, 1008)):
    """A GraphDef with the 2015 graph's node names and ops on its input chain and head, and
    `convs` Conv2D + BatchNormWithGlobalNormalization + Relu units between them. Never run: only
    its structure is inspected."""
    t = tf()
    gd = t.compat.v1.GraphDef()

    def node(name, op, *inputs, shape=None):
        n = gd.node.add()
        n.name, n.op = name, op
        n.input.extend(inputs)
        if shape is not None:
            n.attr["value"].tensor.tensor_shape.dim.extend(
                [t.compat.v1.TensorShape([d]).as_proto().dim[0] for d in shape])
        return name

    x = node("DecodeJpeg", "DecodeJpeg", node("DecodeJpeg/contents", "Placeholder"))
    x = node("ResizeBilinear", "ResizeBilinear", node("ExpandDims", "ExpandDims", node("Cast", "Cast", x)))
    for i in range(convs):
        x = node(f"conv_{i}/Relu", "Relu", node(f"conv_{i}/bn", "BatchNormWithGlobalNormalization",
                                                node(f"conv_{i}/Conv2D", "Conv2D", x)))
    x = node("pool_3/_reshape", "Reshape", node("pool_3", "AvgPool", x))
    node("softmax", "Softmax", node("softmax/logits/MatMul", "MatMul", x, node("softmax/weights", "Const", shape=weights)))
    path.write_bytes(gd.SerializeToString())
    return path


def test_only_a_graph_with_the_2015_structure_is_called_comparable(tmp_path):
    """Comparability is decided by content: the right structure passes; the same names with the
    wrong op counts, a wrong head, the test graph with the 2015 interface, and the random Keras
    twin do not. report.json's network carries the file's sha256 and size and every check."""
    from gantool.atomic import sha256_file
    from gantool.eval.inception_check import describe_network

    def describe(path):
        return describe_network(features.FeatureNet("x", str(path), 2048, None), sha256_file(path))

    good = describe(structural_graph(tmp_path / "good.pb"))
    assert good["comparable"] is True and all(c["ok"] for c in good["checks"]), good["checks"]
    assert good["bytes"] == (tmp_path / "good.pb").stat().st_size and good["sha256"] == sha256_file(tmp_path / "good.pb")
    assert good["ops"]["Conv2D"] == 94 and good["nodes"] == 10 + 3 * 94
    assert {c["source"] for c in good["checks"]} == {"public", "architecture"} and "standard FID network" in good["note"]

    few = describe(structural_graph(tmp_path / "few.pb", convs=3))  # right names, wrong structure
    assert few["comparable"] is False and "NOT the standard FID network" in few["note"]
    assert {c["fact"] for c in few["checks"] if not c["ok"]} == {"94 Conv2D ops", "94 BatchNormWithGlobalNormalization ops",
                                                                 "94 Relu ops"}
    head = describe(structural_graph(tmp_path / "head.pb", weights=(2048, 1000)))  # a 1000-class head
    assert head["comparable"] is False and [c["got"] for c in head["checks"] if not c["ok"]] == [[2048, 1000]]
    fake_inception_graph(tmp_path / "classify_image_graph_def.pb")  # parses, loads, has pool_3: not enough
    assert describe(tmp_path / "classify_image_graph_def.pb")["comparable"] is False
    twin = describe_network(features.random_inception(), None)
    assert twin["comparable"] is False and twin["sha256"] is None

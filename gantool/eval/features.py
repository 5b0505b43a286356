"""Image features for FID, KID and precision/recall: 2048-d Inception pool features.

Two networks, both from local files only (no downloads at run time):
- "graph": the 2015-12-05 TensorFlow Inception graph (`classify_image_graph_def.pb` from
  inception-2015-12-05.tgz) that the original FID code used; its numbers are comparable with
  published FIDs. Input: RGB 0-255 floats at any size (the graph resizes to 299 itself), read at
  `pool_3:0`. The graph uses BatchNormWithGlobalNormalization, an op TF 2 no longer runs; it is
  rewritten into (x - mean) * rsqrt(var + eps) * gamma + beta before import.
- "keras": keras.applications.InceptionV3 without its top, average-pooled, with ImageNet weights
  from a local .h5 file (inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5). Numbers are NOT
  comparable with published FIDs (different weights and pooling); the report says which was used.
The file comes from --inception PATH or $GANTOOL_INCEPTION, else DEFAULT_PATH.
`random_inception()` is the Keras network with random weights: same interface, for tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from gantool.errors import UsageError
from gantool.tfquiet import import_tf

DEFAULT_PATH = Path("~/.cache/gantool/classify_image_graph_def.pb").expanduser()
ENV = "GANTOOL_INCEPTION"
GRAPH_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"


@dataclass
class FeatureNet:
    name: str          # "inception-2015-12-05 (graph)", "keras-inceptionv3 (...)", "random-inceptionv3"
    source: str
    dim: int
    _fn: Callable      # float32 RGB 0-255 (N, H, W, 3) -> (N, dim)

    def extract(self, images_uint8: np.ndarray, batch: int = 50) -> np.ndarray:
        """Features of every image, `batch` at a time. A short last batch is padded to the size of
        the others (its extra rows are dropped): the network runs in inference mode, so rows do
        not see each other, and the compiled function is traced for one shape instead of two."""
        out = []
        full = min(batch, len(images_uint8))
        for i in range(0, len(images_uint8), batch):
            x = images_uint8[i:i + batch]
            n = len(x)
            if n < full:
                x = np.concatenate([x, np.repeat(x[-1:], full - n, axis=0)], axis=0)
            if x.shape[-1] == 1:
                x = np.repeat(x, 3, axis=-1)
            out.append(np.asarray(self._fn(x.astype(np.float32)), np.float64).reshape(len(x), -1)[:n])
        return np.concatenate(out, axis=0)


def resolve_path(inception: str | None) -> Path:
    path = Path(inception or os.environ.get(ENV) or DEFAULT_PATH).expanduser()
    if not path.is_file():
        raise UsageError(
            f"FID/KID/precision-recall need the Inception network, which gantool never downloads: no file at {path}. "
            f"Put classify_image_graph_def.pb (from {GRAPH_URL}) at {DEFAULT_PATH}, or pass --inception PATH "
            f"or set {ENV}; a Keras InceptionV3 no-top .h5 weights file also works (not comparable with published FIDs); "
            "--metrics msssim,nn needs no network")
    return path


_LOADED: dict = {}  # (path, size, mtime) -> FeatureNet: a process that scores several times loads once


def load_feature_net(inception: str | None = None) -> FeatureNet:
    path = resolve_path(inception)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _LOADED:
        if path.suffix == ".pb":
            net = _graph_net(path)
        elif path.suffix in (".h5", ".keras") or path.name.endswith(".weights.h5"):
            net = _keras_net(path)
        else:
            raise UsageError(f"--inception: {path} is neither a .pb graph nor Keras .h5/.keras weights")
        _LOADED.clear()  # one network at a time: InceptionV3 holds ~100 MB
        _LOADED[key] = net
    return _LOADED[key]


def random_inception(seed: int = 0) -> FeatureNet:
    return _keras_net(None, seed)


def _keras_net(weights: Path | None, seed: int = 0) -> FeatureNet:
    tf = import_tf()
    import keras  # noqa: PLC0415

    keras.utils.set_random_seed(seed)
    net = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg", input_shape=(299, 299, 3))
    if weights is not None:
        try:
            net.load_weights(str(weights))
        except Exception as e:  # noqa: BLE001
            raise UsageError(f"--inception: cannot load {weights} into Keras InceptionV3 (no top): {type(e).__name__}") from None

    # one trace for every batch and image size (the resize makes the rest static): a caller that
    # extracts with two batch sizes, or at two image sizes, pays InceptionV3's trace once
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)], autograph=False)
    def fn(x):
        x = tf.image.resize(x, (299, 299), method="bilinear")
        return net(x / 127.5 - 1.0, training=False)

    name = f"keras-inceptionv3 ({weights.name})" if weights else f"random-inceptionv3 (seed {seed})"
    return FeatureNet(name, str(weights) if weights else "random", 2048, fn)


def rewrite_global_batchnorm(graph_def):
    """Replace every BatchNormWithGlobalNormalization node by primitive ops computing
    (t - m) * rsqrt(v + eps) [* gamma] + beta; the last op keeps the node's name."""
    tf = import_tf()
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    for node in graph_def.node:
        if node.op != "BatchNormWithGlobalNormalization":
            out.node.add().CopyFrom(node)
            continue
        t, m, v, beta, gamma = list(node.input)[:5]
        eps = node.attr["variance_epsilon"].f
        scale = node.attr["scale_after_normalization"].b
        base = node.name + "/gantool"

        c = out.node.add()
        c.op, c.name = "Const", base + "/eps"
        c.attr["dtype"].type = node.attr["T"].type
        c.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.float32(eps)))
        var_eps = _op(out, node, "AddV2", base + "/var_eps", [v, c.name])
        inv = _op(out, node, "Rsqrt", base + "/rsqrt", [var_eps])
        if scale:
            inv = _op(out, node, "Mul", base + "/scale", [inv, gamma])
        centred = _op(out, node, "Sub", base + "/centred", [t, m])
        normed = _op(out, node, "Mul", base + "/normed", [centred, inv])
        _op(out, node, "AddV2", node.name, [normed, beta])
    return out


def _op(graph_def, like, op: str, name: str, inputs: list) -> str:
    """Append a node `op` of `like`'s dtype and device; returns its name."""
    n = graph_def.node.add()
    n.op, n.name = op, name
    n.input.extend(inputs)
    n.attr["T"].CopyFrom(like.attr["T"])
    if like.device:
        n.device = like.device
    return name


def _graph_net(path: Path) -> FeatureNet:
    tf = import_tf()
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except Exception as e:  # noqa: BLE001
        raise UsageError(f"--inception: {path} is not a TensorFlow GraphDef: {type(e).__name__}") from None
    graph_def = rewrite_global_batchnorm(graph_def)

    def imported(x):
        pool, = tf.compat.v1.import_graph_def(graph_def, input_map={"ExpandDims:0": x},
                                              return_elements=["pool_3:0"], name="fid")
        return pool

    fn = tf.compat.v1.wrap_function(imported, [tf.TensorSpec([None, None, None, 3], tf.float32)])

    def run(x):
        return tf.reshape(fn(tf.constant(x)), [len(x), -1])

    return FeatureNet("inception-2015-12-05 (graph)", str(path), 2048, run)

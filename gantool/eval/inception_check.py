"""Is this network the standard FID network? Decided by the file's content, never by its name.

A FID is comparable with published ones only when computed with the 2015-12-05 TensorFlow
Inception graph (`classify_image_graph_def.pb` from inception-2015-12-05.tgz). Any `.pb` that
parses loads through the same code path, so `describe_network` opens the GraphDef and checks its
structure against the facts below; the result is comparable only when every check passes, and
report.json lists each check, whether it passed and where its expected value comes from.

Where the expected values come from (the real file could not be fetched when this was written):
- "public": stated or relied on by public code that loads this exact file (the original FID
  code and TensorFlow's image-retraining example read `pool_3:0` [N,1,1,2048], `pool_3/_reshape`,
  `softmax:0`, the weights as the second input of `softmax/logits/MatMul` of shape [2048, 1008],
  `DecodeJpeg`, `ExpandDims:0` as the float image input and `ResizeBilinear` to 299x299) and
  BatchNormWithGlobalNormalization (the op TF 2 removed; DESIGN notes).
- "architecture": counts derived from the Inception-v3 architecture (94 convolutions, each with
  a batch norm and a ReLU, as keras.applications.InceptionV3 builds it); not yet compared
  with the real file.
- The graph's total node count is recorded (`nodes`) but not checked: no source we could
  read states it. Record it from a real file with `gantool eval --json` and add it here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

INPUT_CHAIN = ("ExpandDims", "ResizeBilinear", "pool_3")
REQUIRED_NODES = {  # name -> op
    "DecodeJpeg": "DecodeJpeg", "ExpandDims": "ExpandDims", "ResizeBilinear": "ResizeBilinear",
    "pool_3": "AvgPool", "pool_3/_reshape": "Reshape", "softmax/logits/MatMul": "MatMul", "softmax": "Softmax",
}
OP_COUNTS = {"Conv2D": 94, "BatchNormWithGlobalNormalization": 94, "Relu": 94}
SOFTMAX_WEIGHTS = (2048, 1008)


def _check(fact: str, ok: bool, source: str, got=None) -> dict:
    return {"fact": fact, "ok": bool(ok), "source": source, **({"got": got} if got is not None else {})}


def _ancestors(nodes: dict, name: str) -> set:
    seen, todo = set(), [name]
    while todo:
        n = todo.pop()
        node = nodes.get(n)
        for inp in (node.input if node is not None else ()):
            base = inp.lstrip("^").split(":")[0]
            if base not in seen:
                seen.add(base)
                todo.append(base)
    return seen


def _const_shape(nodes: dict, name: str) -> tuple | None:
    node = nodes.get(name.lstrip("^").split(":")[0])
    if node is None or node.op != "Const":
        return None
    return tuple(d.size for d in node.attr["value"].tensor.tensor_shape.dim)


def graph_checks(graph_def) -> tuple[list[dict], dict]:
    """Structural checks of a GraphDef against the 2015 graph; returns (checks, facts seen)."""
    nodes = {n.name: n for n in graph_def.node}
    ops = Counter(n.op for n in graph_def.node)
    checks = []
    for name, op in REQUIRED_NODES.items():
        got = nodes[name].op if name in nodes else "missing"
        checks.append(_check(f"node {name} is a {op}", got == op, "public", got))
    for op, n in OP_COUNTS.items():
        checks.append(_check(f"{n} {op} ops", ops.get(op, 0) == n, "architecture", ops.get(op, 0)))
    mm = nodes.get("softmax/logits/MatMul")
    shape = _const_shape(nodes, mm.input[1]) if mm is not None and len(mm.input) > 1 else None
    checks.append(_check(f"softmax weights {SOFTMAX_WEIGHTS[0]}x{SOFTMAX_WEIGHTS[1]} (pool_3 2048-d, 1008 classes)",
                         shape == SOFTMAX_WEIGHTS, "public", list(shape) if shape else "missing"))
    chain = all(a in _ancestors(nodes, b) for a, b in zip(INPUT_CHAIN, INPUT_CHAIN[1:])) and all(
        n in nodes for n in INPUT_CHAIN)
    checks.append(_check("input handling: ExpandDims -> ResizeBilinear -> ... -> pool_3", chain, "public"))
    return checks, {"nodes": len(graph_def.node), "ops": dict(sorted(ops.items()))}


def describe_network(net, digest: str | None) -> dict:
    """report.json's `network`: name, file, sha256, size, each structural check and the verdict."""
    src = Path(net.source)
    out = {"name": net.name, "source": net.source, "sha256": digest,
           "bytes": src.stat().st_size if src.is_file() else None}
    checks: list[dict] = []
    if src.is_file() and src.suffix == ".pb":
        from gantool.tfquiet import import_tf  # noqa: PLC0415

        graph_def = import_tf().compat.v1.GraphDef()
        graph_def.ParseFromString(src.read_bytes())
        checks, seen = graph_checks(graph_def)
        out.update(seen)
    else:
        checks.append(_check("a TensorFlow GraphDef (.pb), as the 2015 graph is", False, "public", src.suffix or "none"))
    failed = [c["fact"] for c in checks if not c["ok"]]
    out["checks"] = checks
    out["comparable"] = not failed
    out["note"] = ("the standard FID network (every structural check of the 2015 graph passed): numbers "
                   "comparable with published FIDs at the same image count" if not failed else
                   "NOT the standard FID network (failed: " + "; ".join(failed[:3]) + ("; ..." if len(failed) > 3 else "")
                   + "): compare these numbers only with each other")
    return out

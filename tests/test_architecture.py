"""The import structure of gantool/ (docs/architecture.md): no cycles, imports only go down the
layers, sample/eval/export read runs through gantool.run and never import gantool.train, and
`import gantool.cli` (what `gantool --help` loads) pulls in no TensorFlow or Keras.

Every `import`/`from ... import` of a gantool module counts, at any depth (also inside
functions), so a lazy import cannot hide a tie."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "gantool"

# low -> high; a module may import its own layer and the ones below. A module belongs to the
# layer of the longest entry that names it or a package above it.
LAYERS = [
    ("base", ["gantool", "gantool.errors", "gantool.faults", "gantool.stopflag", "gantool.registry", "gantool.atomic",
              "gantool.tfquiet", "gantool.images", "gantool.sizes", "gantool.sample"]),
    ("parts", ["gantool.prep.imageio", "gantool.prep.geometry", "gantool.prep.crop", "gantool.prep.faces",
               "gantool.data", "gantool.models", "gantool.train.distribute", "gantool.train.progressive",
               "gantool.train.augment", "gantool.eval.metric", "gantool.eval.metrics", "gantool.eval.fid",
               "gantool.eval.kid", "gantool.eval.prdc", "gantool.eval.msssim", "gantool.eval.nn",
               "gantool.eval.features", "gantool.eval.cache", "gantool.eval.sources"]),
    ("config", ["gantool.config", "gantool.eval.config"]),
    ("run", ["gantool.run"]),
    ("engines", ["gantool.prep", "gantool.train", "gantool.sample_run", "gantool.export", "gantool.eval"]),
    ("interface", ["gantool.console", "gantool.commands", "gantool.cli"]),
]
# readers of the run folder: they go through gantool.run, never through training code
READERS = ("gantool.sample_run", "gantool.export", "gantool.eval", "gantool.run")


def module_names() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = module_names()


def imports_of(name: str) -> set[str]:
    """The gantool modules `name` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in MODULES:  # `import gantool.models.layers` names a module; attributes are cut
                t = t.rpartition(".")[0]
            if t and t.startswith("gantool") and t != name:
                found.add(t)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    assert rank is not None, f"{name} is in no layer of tests/test_architecture.py (add it, and to docs/architecture.md)"
    return rank


def test_the_import_graph_is_read():
    assert len(MODULES) > 60
    assert "gantool.run.generator" in GRAPH["gantool.sample_run"]
    assert "gantool.eval.report" in GRAPH["gantool.eval.run"]


def test_no_import_cycles():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(GRAPH[n]):
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(GRAPH):
        if n not in state:
            visit(n)


def test_imports_only_go_down_the_layers():
    up = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
          for a, deps in sorted(GRAPH.items()) for b in sorted(deps) if layer_of(b) > layer_of(a)]
    assert not up, "imports that go up the layers:\n" + "\n".join(up)


def test_sample_eval_export_read_runs_without_training_code():
    bad = [f"{a} imports {b}" for a, deps in sorted(GRAPH.items()) if a.startswith(READERS)
           for b in sorted(deps) if b == "gantool.train" or b.startswith("gantool.train.")]
    assert not bad, "\n".join(bad)


def test_importing_the_cli_loads_no_tensorflow_or_keras():
    code = ("import sys, gantool.cli; heavy = sorted(m for m in ('tensorflow', 'keras', 'cv2', 'mtcnn') if m in sys.modules); "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"`import gantool.cli` imported {out.stdout.strip()}"


def test_the_suite_order_names_existing_test_modules():
    """conftest.LONGEST_FIRST orders `make test`'s files; a renamed module would silently drop out."""
    from conftest import LONGEST_FIRST

    here = Path(__file__).parent
    assert LONGEST_FIRST and [n for n in LONGEST_FIRST if not (here / n).is_file()] == []

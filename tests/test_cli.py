"""The CLI contract: fast help without TensorFlow, one-line errors, exit codes, --json."""

import json
import subprocess
import sys

import pytest

from conftest import run_cli

from gantool import __version__


def test_help_and_version_do_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from gantool.cli import main\n"
        "for args in (['--help'], ['--version'], ['prep', '--help'], ['train', '--help'], ['sample', '--help'], ['export', '--help']):\n"
        "    assert main(args) == 0, args\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'mtcnn', 'cv2', 'numpy', 'PIL') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout



# Each --help in a forked child of one interpreter (cheap), reporting what it had to import.
_HELP_IMPORTS = """
import json, os, sys
from gantool.cli import main
for args in ([], ['--help'], ['prep', '--help'], ['train', '--help'], ['sample', '--help'], ['export', '--help'],
             ['eval', '--help'], ['eval', 'score', '--help'], ['eval', 'quiz', '--help']):
    pid = os.fork()
    if pid == 0:
        sys.stdout = open(os.devnull, 'w')
        rc = main(args)
        mods = sorted(m for m in sys.modules if m.startswith('gantool.commands.') or m.split('.')[0] in ('pydantic', 'rich')
                      or m in ('typer.rich_utils', 'gantool.config', 'gantool.models'))
        print(json.dumps({'args': args, 'rc': rc, 'mods': mods}), file=sys.__stdout__, flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
"""


def test_help_imports_only_the_command_it_shows():
    """`gantool --help` lists every command from cli.COMMANDS without importing one; `gantool X
    --help` imports X's module alone. None builds typer's pydantic coercion (the root's unused
    --help flag used to import pydantic, which cost more than the rest of `gantool prep --help`)
    or imports rich (the help is click's plain formatter; typer's rich one made `train --help`
    0.35 s), or gantool.config, which loads every variant's module."""
    out = subprocess.run([sys.executable, "-c", _HELP_IMPORTS], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 9, out
    for row in rows:
        want = {"gantool.commands.quickhelp"}
        if row["args"] and row["args"][0] != "--help":
            want.add(f"gantool.commands.{row['args'][0]}")
        assert row["rc"] in (0, 2) and set(row["mods"]) == want, row  # no args: help and exit 2


def test_tf_loads_without_scikit_learn_or_matplotlib_and_exit_now_skips_only_the_teardown(tmp_path):
    """gantool.tfquiet keeps scikit-learn (and scipy.stats) and matplotlib (pyplot) out of
    TensorFlow's import (docs/bench/firststep.json: what each cost); both still import afterwards
    (losses.png is drawn). It pauses the garbage collector for the import and freezes what the
    import made; the collector is on again afterwards. Once TensorFlow is loaded the CLI ends
    with os._exit; what a normal exit does first must still happen: non-daemon threads finish,
    atexit handlers run, buffered output is written."""
    code = ("import atexit, gc, sys, threading, time\n"
            "from pathlib import Path\n"
            "from gantool.tfquiet import import_tf\n"
            "from gantool.cli import exit_now\n"
            "frozen, runs = gc.get_freeze_count(), sum(s['collections'] for s in gc.get_stats())\n"
            "import_tf()\n"
            "assert gc.isenabled() and sum(s['collections'] for s in gc.get_stats()) == runs, 'collected while importing'\n"
            "assert gc.get_freeze_count() - frozen > 100_000, gc.get_freeze_count()\n"
            "import keras\n"
            "assert 'keras.src.wrappers' in sys.modules and 'scipy.stats' not in sys.modules\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'sklearn'], 'sklearn imported'\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'matplotlib'], 'matplotlib imported'\n"
            "from sklearn.datasets import load_digits\n"
            "assert load_digits().images.shape == (1797, 8, 8)\n"
            "from gantool.run.metrics import losses_png\n"
            "png = losses_png([{'step': s, 'd_loss': 1.0 / s, 'g_loss': s / 3} for s in (1, 2, 3)])\n"
            "assert png.startswith(b'\\x89PNG') and 'matplotlib.pyplot' not in sys.modules\n"
            "out = Path(sys.argv[1])\n"
            "atexit.register(lambda: (out / 'atexit').write_text('ran'))\n"
            "def late():\n    time.sleep(0.5)\n    (out / 'thread').write_text('done')\n"
            "threading.Thread(target=late).start()\n"
            "sys.stdout.write('buffered, no newline')\n"
            "sys.stderr.write('err')\n"
            "exit_now(3)\n"
            "print('not reached')\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr
    assert out.stdout == "buffered, no newline" and out.stderr.endswith("err")
    assert (tmp_path / "atexit").read_text() == "ran" and (tmp_path / "thread").read_text() == "done"


def test_the_root_help_lines_are_the_commands_own():
    """cli.COMMANDS copies each command's help line so `gantool --help` needs no command module:
    the copy must be what the command itself says."""
    import typer

    from gantool import cli

    group = typer.main.get_command(cli.app)
    for name, (_, _, line) in cli.COMMANDS.items():
        assert cli._build(name, group).help == line, name


def test_version_and_help_through_entry_point():
    r = run_cli("--version")
    assert r.rc == 0 and r.stdout.strip() == f"gantool {__version__}"
    r = run_cli("prep", "--help")
    assert r.rc == 0
    for flag in ("--size", "--crop", "--min-confidence", "--faces", "--margin", "--align", "--workers", "--json"):
        assert flag in r.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        pytest.param(["prep", "/no/such/folder"], "folder not found", marks=pytest.mark.entry_point),
        (["prep", "builtin:digits", "--size", "4"], "--size"),
        (["prep", "builtin:digits", "--size", "abc"], "--size"),
        (["prep", "builtin:digits", "--channels", "2"], "--channels"),
        (["prep", "builtin:nope"], "unknown built-in"),
        (["prep", "builtin:digits", "--crop", "face"], "--crop"),
        (["prep", "builtin:digits", "--crop", "squash"], "--crop"),
        (["prep", "builtin:digits", "--workers", "0"], "--workers"),
        (["prep", "builtin:digits", "--margin", "-1"], "--margin"),
        pytest.param(["prep", "builtin:digits", "--bogus-flag"], "No such option", marks=pytest.mark.entry_point),
        (["prep"], "Missing argument"),
        pytest.param(["train-everything"], "No such command", marks=pytest.mark.entry_point),
    ],
)
def test_user_mistakes_exit_2_with_one_line(args, needle, tmp_path, cli):
    r = cli(*args, cwd=tmp_path)
    assert r.rc == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r
    assert lines[0].startswith("gantool: error:") and needle in lines[0], r
    assert "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_error_with_json_gives_a_json_object(tmp_path):
    r = run_cli("prep", "/no/such/folder", "--json", cwd=tmp_path)
    assert r.rc == 2
    obj = json.loads(r.stdout)
    assert obj["ok"] is False and obj["exit_code"] == 2 and "folder not found" in obj["error"]


def test_src_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"x")
    r = run_cli("prep", tmp_path / "x.jpg", cwd=tmp_path)
    assert r.rc == 2 and "not a folder" in r.stderr


def test_out_inside_src_refused(tmp_path):
    (tmp_path / "raw").mkdir()
    r = run_cli("prep", "raw", "--out", "raw/data", cwd=tmp_path)
    assert r.rc == 2 and "inside SRC" in r.stderr


def test_dry_run_prints_config_and_writes_nothing(tmp_path):
    r = run_cli("prep", "builtin:digits", "--size", "16", "--dry-run", "--json", cwd=tmp_path)
    assert r.rc == 0, r
    obj = json.loads(r.stdout)
    assert obj["dry_run"] is True
    assert obj["config"]["size"] == 16 and obj["config"]["channels"] == 1 and obj["config"]["crop"] == "none"
    assert obj["config"]["out"] == "data/digits_16"
    assert list(tmp_path.iterdir()) == []

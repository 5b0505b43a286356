import fcntl
import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from tempfile import TemporaryFile

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from photos import build_photo_folder  # noqa: E402

GANTOOL = str(Path(sys.executable).parent / "gantool")


class CliResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<rc={self.rc} stdout={self.stdout[-500:]!r} stderr={self.stderr[-1500:]!r}>"


def run_cli(*args, cwd=None, timeout=300, env=None) -> CliResult:
    """Run the installed `gantool` entry point as a user would (not a TTY)."""
    e = dict(os.environ)
    e.pop("GANTOOL_DEBUG", None)
    if env:
        e.update(env)
    proc = subprocess.run([GANTOOL, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=e, stdin=subprocess.DEVNULL)
    return CliResult(proc)


def run_in_process(*args, cwd=None, env=None) -> CliResult:
    """Run `gantool.cli.main` in this process: the same parsing, checks, one-line errors and exit
    codes as the entry point, without paying a new Python's start (~1-2 s, more with TensorFlow).

    Both the Python streams and file descriptors 1 and 2 are captured, so a stray line written
    below Python (TensorFlow's C++ logging) still shows in stderr, as it would from a subprocess.
    """
    from gantool.cli import main

    argv = [str(a) for a in args]
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = sys.stdout, sys.stderr
    saved_fds = os.dup(1), os.dup(2)
    out_file = TemporaryFile("w+", buffering=1, encoding="utf-8", errors="replace")
    err_file = TemporaryFile("w+", buffering=1, encoding="utf-8", errors="replace")
    try:
        os.environ.pop("GANTOOL_DEBUG", None)
        for key, value in (env or {}).items():
            os.environ[key] = value
        if cwd is not None:
            os.chdir(cwd)
        os.dup2(out_file.fileno(), 1)
        os.dup2(err_file.fileno(), 2)
        sys.stdout, sys.stderr = out_file, err_file
        try:
            rc = main(argv)  # what `entry()` hands to sys.exit
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:  # noqa: BLE001  (a subprocess would print the traceback and exit 1)
            traceback.print_exc(file=err_file)
            rc = 1
    finally:
        sys.stdout, sys.stderr = saved_streams
        for f in (out_file, err_file):
            f.flush()
        os.dup2(saved_fds[0], 1)
        os.dup2(saved_fds[1], 2)
        for fd in saved_fds:
            os.close(fd)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    texts = []
    for f in (out_file, err_file):
        f.seek(0)
        texts.append(f.read())
        f.close()
    return CliResult(subprocess.CompletedProcess(argv, rc, texts[0], texts[1]))


# The modules that take longest, longest first (seconds of test time summed per module, from
# `pytest --durations=0` over the whole suite, 2026-12-07: test_stylegan2_train.py 141 s ...
# test_eval_features.py 5 s). `make test` hands whole files to two workers (--dist loadfile) in
# collection order (--no-loadscope-reorder; xdist's own order is by number of tests, which sent
# the one-test 100-second modules last and left a worker idle at the end). A stale list only
# costs balance.
LONGEST_FIRST = [
    "test_stylegan2_train.py", "test_scale.py", "test_prep_faces.py", "reliability/test_train_faults.py",
    "test_examples.py", "test_pggan.py", "test_train_cli.py", "test_models.py", "test_train_resume.py",
    "test_eval_cli.py", "test_stylegan2_learns.py", "test_reuse_fake.py", "test_train_ada.py", "test_sample_styles.py",
    "test_sample.py", "reliability/test_bad_input.py", "test_export.py", "test_cli.py", "reliability/test_hostile_prep.py",
    "test_digit_judge.py", "test_prep_digits.py", "test_legacy_run.py", "test_eval_features.py",
]


def pytest_collection_modifyitems(session, config, items):
    rank = {str(Path(__file__).parent / name): i for i, name in enumerate(LONGEST_FIRST)}

    def key(item):
        return rank.get(str(item.path), len(rank))

    items.sort(key=key)  # stable: a module's tests keep their order


@pytest.fixture
def cli(request):
    """How a table row runs the CLI: in this process (`run_in_process`), or through the installed
    entry point (`run_cli`) for rows marked `entry_point`, which keep the real start-up covered."""
    return run_cli if request.node.get_closest_marker("entry_point") else run_in_process


def build_once(tmp_path_factory, name, build) -> Path:
    """A folder built by `build(path)` once per test session and shared by the modules that need it.

    Under pytest-xdist every worker has its own session: the first worker to get here builds the
    folder (under a file lock, in the temp folder all workers share) and the others reuse it.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    target, done = base / f"shared-{name}", base / f"shared-{name}.done"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            done.touch()
    return target


@pytest.fixture(scope="session")
def digits16(tmp_path_factory):
    """`data/digits_16`: the real `gantool prep builtin:digits --size 16`, made once per session.
    Modules copy it (`copy_digits16`) instead of each running the same prep."""

    def build(root):
        res = run_cli("prep", "builtin:digits", "--size", 16, "-q", "--json", cwd=root)
        assert res.rc == 0, res

    return build_once(tmp_path_factory, "digits16", build) / "data" / "digits_16"


def copy_digits16(digits16: Path, dest: Path) -> Path:
    """A private copy of the session's digits_16 at `dest` (what the module's own prep would write)."""
    shutil.copytree(digits16, dest)
    return dest


PGGAN8_ARGS = ["pggan", "--target", 8, "--filters", 4, "--max-filters", 8, "--z-dim", 8, "--fade-kimg", 0.1,
               "--stable-kimg", 0.1, "--batch-schedule", "4:16,8:16"]


@pytest.fixture(scope="session")
def pggan8(tmp_path_factory, digits16):
    """A finished tiny progressive run (stages 4 and 8 px) on digits_16, trained once per session for
    the modules that sample or export its stages; copy it (`shutil.copytree`) before writing into it."""

    def build(root):
        copy_digits16(digits16, root / "data/digits_16")
        res = run_in_process("train", *PGGAN8_ARGS, "--out", "runs/pg", "-q", cwd=root)
        assert res.rc == 0, res

    return build_once(tmp_path_factory, "pggan8", build) / "runs" / "pg"


DCGAN16_ARGS = ["dcgan", "--steps", 20, "--filters", 8, "--batch", 16, "--ema", 0.9, "--ckpt-every", 10]


@pytest.fixture(scope="session")
def dcgan16(tmp_path_factory, digits16):
    """A finished tiny dcgan run (20 steps with an EMA copy, checkpoints at 10 and 20) on digits_16,
    trained once per session for the modules that sample or evaluate it; copy it
    (`shutil.copytree`) before writing into it."""

    def build(root):
        copy_digits16(digits16, root / "data/digits_16")
        res = run_in_process("train", *DCGAN16_ARGS, "--out", "runs/dc", "-q", cwd=root)
        assert res.rc == 0, res

    return build_once(tmp_path_factory, "dcgan16", build) / "runs" / "dc"


# a tiny stylegan2 run with every kind of step it has: R1 and path length due (step 0) and not (1), ADA
SG2_ARGS = ["stylegan2", "--filters", 8, "--max-filters", 8, "--map-layers", 2, "--z-dim", 16, "--batch", 8,
            "--augment", "ada", "--ada-kimg", 1, "--sample-every", 0, "--log-every", 1, "--ckpt-every", 1, "--grid", 2,
            "--seed", 1, "-q", "--json"]


@pytest.fixture(scope="session")
def sg2_run(tmp_path_factory):
    """A finished 2-step stylegan2 run (SG2_ARGS, 8 px digits, checkpoints ckpt-1 and ckpt-2), trained
    once per session for test_stylegan2_train (which checks it and resumes a killed copy to it) and
    test_sample_styles (which samples and exports it); copy it (`shutil.copytree`) before writing
    into it. -> the folder holding `data/digits_8` and the run `ref`."""

    def build(root):
        assert run_in_process("prep", "builtin:digits", "--size", 8, "-q", cwd=root).rc == 0
        res = run_in_process("train", *SG2_ARGS, "--steps", 2, "--out", root / "ref", cwd=root)
        assert res.rc == 0, res

    return build_once(tmp_path_factory, "sg2", build)


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos") / "raw"
    exp = build_photo_folder(root)
    return root, exp


@pytest.fixture(scope="session")
def face_prep(photo_folder, tmp_path_factory):
    """One real `gantool prep` over the mixed folder (face crop, 64 px, 1 worker)."""
    root, exp = photo_folder
    out = tmp_path_factory.mktemp("faceprep") / "faces_64"
    res = run_cli("prep", root, "--size", 64, "--out", out, "--workers", 1, "--min-face", 20, "--json")
    return res, out, exp


@pytest.fixture(scope="module", autouse=True)
def _freeze_what_outlives_the_module():
    """After each module: collect, then move every object still alive (imports, session fixtures,
    whatever TensorFlow and Keras keep) out of the garbage collector's reach (gc.freeze). A worker's
    heap only grows over a session, and each automatic full collection walked all of it (~0.3 s
    each, 8.8 s of 112 s in five training-heavy modules, measured with gc.callbacks); after the
    freeze they walk what the current module made (3.9 s). Frozen objects are still freed by
    reference counting; a cycle among them is never collected (the same five modules' peak memory:
    1.68 GB with the freeze, 1.73 GB without)."""
    yield
    import gc

    gc.collect()
    gc.freeze()

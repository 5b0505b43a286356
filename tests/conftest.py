import json
import os
import subprocess
import sys
from pathlib import Path

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

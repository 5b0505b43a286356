"""File helpers: atomic writes (temp file in the same folder, fsync, os.replace) and hashing."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

from gantool import faults


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_with(path: str | os.PathLike, writer: Callable[[BinaryIO], None]) -> None:
    """Call writer(file) on a temp file beside `path`, fsync it, then rename it onto `path`.
    A crash at any point leaves either the old file or the complete new one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            writer(f)
            f.flush()
            os.fsync(f.fileno())
        faults.point("atomic.rename")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    write_with(path, lambda f: f.write(data))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode("utf-8"))


def read_json_doc(path: str | os.PathLike, kind: str, schemas: tuple, what: str, error: type) -> dict:
    """Read a self-describing gantool JSON file (manifest, run config) and check its kind and
    schema; every failure is `error` with a one-line message naming the file."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path.parent} is not a {what} (no {path.name})")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise error(f"unreadable {path}: {e}") from None
    if not isinstance(doc, dict) or doc.get("kind") != kind:
        raise error(f"{path} is not a {what} file")
    if doc.get("schema") not in schemas:
        raise error(f"{path}: {what} schema {doc.get('schema')} is not supported by this gantool")
    return doc


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (its temporary files are not stale)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename inside `path` durable (best effort on filesystems that allow it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (raises OSError if unreadable)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()

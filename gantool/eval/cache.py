"""Cache of real-data Inception features, so scoring many checkpoints against one dataset
extracts the real side once.

Key: sha256 of the dataset's content (each shard's sha256 from its manifest, re-hashed from the
file when the manifest has none), the images used (indices, size they were filtered to), and
the network (its name and the sha256 of its weights file). Any change of data, subset, size or
network is a new key, so a stale entry cannot be read. Entries are .npz files written
atomically under $GANTOOL_CACHE/stats (default ~/.cache/gantool/stats), read without pickle.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from gantool.atomic import sha256_file, write_bytes

ENV = "GANTOOL_CACHE"


@lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def net_digest(net) -> str | None:
    """sha256 of the network's weights file (None for the random test network)."""
    p = Path(net.source)
    if not p.is_file():
        return None
    st = p.stat()
    return _file_digest(str(p), st.st_size, st.st_mtime_ns)


def _net_identity(net) -> str:
    digest = net_digest(net)
    return f"{net.name}:{digest}" if digest else net.name  # the random network's name carries its seed


class FeatureCache:
    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def default(cls) -> "FeatureCache":
        base = Path(os.environ.get(ENV) or Path("~/.cache/gantool").expanduser())
        return cls(base / "stats")

    @staticmethod
    def key(real, net) -> str:
        ds = real.ds
        shards = []
        for s, path in zip(ds.manifest["shards"], ds.shard_paths()):
            shards.append([s["file"], s["count"], s.get("sha256") or sha256_file(path)])
        doc = {"v": 1, "shards": shards, "size": real.size, "channels": real.channels,
               "indices": hashlib.sha256(np.ascontiguousarray(real.indices, np.int64).tobytes()).hexdigest(),
               "network": _net_identity(net)}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.root / f"real-{key}.npz"

    def get(self, key: str, count: int | None = None) -> np.ndarray | None:
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                feats = z["features"]
        except Exception:  # noqa: BLE001  (a damaged entry is a miss; it is rewritten)
            return None
        if feats.ndim != 2 or (count is not None and len(feats) != count):
            return None
        return feats

    def put(self, key: str, feats: np.ndarray, meta: dict) -> Path | None:
        """Store an entry; a cache that cannot be written (read-only home, full disk) is skipped."""
        buf = io.BytesIO()
        np.savez(buf, features=feats.astype(np.float32), meta=np.asarray(json.dumps(meta)))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            write_bytes(self.path(key), buf.getvalue())
        except OSError:
            return None
        return self.path(key)

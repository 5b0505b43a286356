"""Open and validate a packed dataset (manifest.json + .npz shards)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from gantool.atomic import read_json_doc
from gantool.errors import DataError

SUPPORTED_SCHEMAS = (1,)


@dataclass(frozen=True)
class Dataset:
    path: Path
    manifest: dict

    @property
    def size(self) -> int:
        return int(self.manifest["size"])

    @property
    def channels(self) -> int:
        return int(self.manifest["channels"])

    @property
    def count(self) -> int:
        return int(self.manifest["count"])

    def shard_paths(self) -> list[Path]:
        return [self.path / s["file"] for s in self.manifest["shards"]]

    def load_shard(self, i: int) -> np.ndarray:
        p = self.shard_paths()[i]
        try:
            with np.load(p, allow_pickle=False) as z:
                arr = z["images"]
        except Exception as e:  # noqa: BLE001
            raise DataError(f"cannot read shard {p}: {type(e).__name__}: {e}") from None
        want = (self.manifest["shards"][i]["count"], self.size, self.size, self.channels)
        if arr.dtype != np.uint8 or arr.shape != want:
            raise DataError(f"shard {p} holds {arr.shape} {arr.dtype}, manifest says {want} uint8")
        return arr

    def iter_shards(self) -> Iterator[np.ndarray]:
        for i in range(len(self.manifest["shards"])):
            yield self.load_shard(i)

    def load_all(self) -> np.ndarray:
        """Every image in one array: for small datasets and tests only."""
        return np.concatenate(list(self.iter_shards()), axis=0)


def open_dataset(path: str | Path) -> Dataset:
    path = Path(path)
    manifest = read_json_doc(path / "manifest.json", "gantool.dataset", SUPPORTED_SCHEMAS, "gantool dataset", DataError)
    missing = [s["file"] for s in manifest.get("shards", []) if not (path / s["file"]).is_file()]
    if missing:
        raise DataError(f"dataset {path} is incomplete: missing {', '.join(missing[:3])}")
    if sum(s["count"] for s in manifest["shards"]) != manifest["count"]:
        raise DataError(f"dataset {path}: shard counts do not add up to {manifest['count']}")
    return Dataset(path, manifest)

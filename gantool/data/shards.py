"""Open and validate a packed dataset (manifest.json + .npz shards)."""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from gantool.atomic import read_json_doc
from gantool.data.swap import recover_swap
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
        want = (self.manifest["shards"][i]["count"], self.size, self.size, self.channels)
        return self.load_shard_file(self.shard_paths()[i], want)

    @staticmethod
    def load_shard_file(p: Path, want: tuple) -> np.ndarray:
        try:
            with np.load(p, allow_pickle=False) as z:
                arr = z["images"]
        except Exception as e:  # noqa: BLE001
            raise DataError(f"cannot read shard {p}: {type(e).__name__}: {e}") from None
        if arr.dtype != np.uint8 or arr.shape != want:
            raise DataError(f"shard {p} holds {arr.shape} {arr.dtype}, manifest says {want} uint8")
        return arr

    def shard_reader(self, i: int) -> ShardReader:
        """Reads chosen images of shard i from its file, without loading the whole shard."""
        want = (self.manifest["shards"][i]["count"], self.size, self.size, self.channels)
        return ShardReader(self.shard_paths()[i], want)

    def iter_shards(self) -> Iterator[np.ndarray]:
        for i in range(len(self.manifest["shards"])):
            yield self.load_shard(i)

    def load_all(self) -> np.ndarray:
        """Every image in one array: for small datasets and tests only."""
        return np.concatenate(list(self.iter_shards()), axis=0)


class ShardReader:
    """Image-by-image reads from one shard. prep writes shards with np.savez, which stores the
    array uncompressed, so the images are one C-order block at a fixed offset in the file; a
    batch costs one read per image instead of holding the whole shard (~256 MB) in memory. A
    compressed shard (np.savez_compressed by hand) is loaded whole instead."""

    def __init__(self, path: Path, want: tuple):
        self.path = path
        self._all: np.ndarray | None = None
        self._f = None
        try:
            with zipfile.ZipFile(path) as zf:
                info = zf.getinfo("images.npy")
                stored = info.compress_type == zipfile.ZIP_STORED
                if stored:
                    with zf.open(info) as m:
                        version = np.lib.format.read_magic(m)
                        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                       else np.lib.format.read_array_header_2_0)
                        shape, fortran, dtype = read_header(m)
                        in_member = m.tell()
            if stored:
                f = open(path, "rb")  # noqa: SIM115  (closed by close())
                f.seek(info.header_offset)
                head = f.read(30)  # the local file header: its name and extra field lengths can differ
                if len(head) != 30 or head[:4] != b"PK\x03\x04":
                    f.close()
                    raise ValueError("bad zip local header")
                name_len, extra_len = struct.unpack("<HH", head[26:30])
                self._f = f
                self._offset = info.header_offset + 30 + name_len + extra_len + in_member
        except Exception as e:  # noqa: BLE001
            raise DataError(f"cannot read shard {path}: {type(e).__name__}: {e}") from None
        if not stored:
            self._all = Dataset.load_shard_file(path, want)
            return
        if dtype != np.uint8 or fortran or tuple(shape) != want:
            self.close()
            raise DataError(f"shard {path} holds {tuple(shape)} {dtype}, manifest says {want} uint8")
        self._shape = tuple(want[1:])
        self._item = int(np.prod(self._shape))

    def take(self, idx) -> np.ndarray:
        """uint8 (len(idx), H, W, C): the images at these positions of the shard, in that order."""
        if self._all is not None:
            return self._all[idx]
        out = np.empty((len(idx),) + self._shape, dtype=np.uint8)
        for k, j in enumerate(idx):
            self._f.seek(self._offset + int(j) * self._item)
            if self._f.readinto(out[k]) != self._item:
                raise DataError(f"shard {self.path} is truncated (image {int(j)})")
        return out

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
        self._all = None


def open_dataset(path: str | Path, recover: bool = True) -> Dataset:
    path = Path(path)
    if recover and not path.exists():  # a prep --overwrite killed between its two renames
        recover_swap(path)
    manifest = read_json_doc(path / "manifest.json", "gantool.dataset", SUPPORTED_SCHEMAS, "gantool dataset", DataError)
    missing = [s["file"] for s in manifest.get("shards", []) if not (path / s["file"]).is_file()]
    if missing:
        raise DataError(f"dataset {path} is incomplete: missing {', '.join(missing[:3])}")
    if sum(s["count"] for s in manifest["shards"]) != manifest["count"]:
        raise DataError(f"dataset {path}: shard counts do not add up to {manifest['count']}")
    return Dataset(path, manifest)

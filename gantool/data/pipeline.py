"""Stream a packed dataset into training batches, reproducibly and with bounded memory.

The order of images is a pure function of (seed, position): epoch e visits the shards in a
permutation drawn from seed and e, and the images of each shard in a permutation of their own.
A batch is the next `batch` images of that endless sequence, across shard and epoch borders.
Resuming therefore needs no saved iterator: the stream restarts at the number of images shown
so far (step * batch for a fixed batch) and yields exactly the batches an uninterrupted run
would have seen. A progressive run changes the batch size between phases the same way.

--subset N (SubsetPlan): N images chosen once from the whole dataset by the seed, then streamed
the same way (epoch e visits them in a permutation drawn from seed and e), so a subset run
resumes like any other.

Shards are the unit of shuffling, not of loading: a batch's images are read one by one from the
current shard's file (gantool.data.shards.ShardReader), so memory holds the batches, never a
whole shard (~256 MB by default; holding it took a 256 px DCGAN run over 2 GB, see
docs/benchmarks.md), and the OS page cache does any caching. tf.data wraps the generator and
prefetches the next batches while the current step runs.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from gantool.data.shards import Dataset


class StreamPlan:
    def __init__(self, shard_counts: list[int], seed: int):
        self.counts = [int(c) for c in shard_counts]
        self.total = sum(self.counts)
        self.seed = int(seed)
        if self.total <= 0:
            raise ValueError("empty dataset")

    def epoch(self, e: int) -> list[tuple[int, np.ndarray]]:
        """[(shard index, order of its images)] for epoch e."""
        rng = np.random.default_rng([self.seed, e])
        order = rng.permutation(len(self.counts))
        return [(int(s), rng.permutation(self.counts[s])) for s in order]

    def positions(self, start: int) -> Iterator[tuple[int, np.ndarray]]:
        """From image `start` of the endless sequence on: (shard, indices in it) runs."""
        e, offset = divmod(int(start), self.total)
        while True:
            for shard, idx in self.epoch(e):
                if offset >= len(idx):
                    offset -= len(idx)
                    continue
                yield shard, idx[offset:]
                offset = 0
            e += 1


class SubsetPlan:
    """The stream over a seeded choice of `n` images (global indices over the shards in order)."""

    def __init__(self, shard_counts: list[int], seed: int, n: int):
        counts = np.asarray([int(c) for c in shard_counts])
        total = int(counts.sum())
        if not 1 <= n <= total:
            raise ValueError(f"subset of {n} images from {total}")
        self.chosen = np.sort(np.random.default_rng([int(seed), 0x5B5E7]).choice(total, int(n), replace=False))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.shard = np.searchsorted(starts, self.chosen, side="right") - 1
        self.local = self.chosen - starts[self.shard]
        self.seed, self.total = int(seed), int(n)

    def positions(self, start: int) -> Iterator[tuple[int, np.ndarray]]:
        """Like StreamPlan.positions: runs of (shard, indices) of consecutive same-shard images."""
        e, offset = divmod(int(start), self.total)
        while True:
            order = np.random.default_rng([self.seed, e, 0x5B5E7]).permutation(self.total)[offset:]
            offset = 0
            shards, local = self.shard[order], self.local[order]
            cut = np.flatnonzero(np.diff(shards)) + 1
            for run_s, run_i in zip(np.split(shards, cut), np.split(local, cut)):
                yield int(run_s[0]), run_i
            e += 1


def iter_batches(ds: Dataset, batch: int, seed: int, start_image: int = 0, subset: int | None = None) -> Iterator[np.ndarray]:
    """uint8 (batch, H, W, C) arrays, endlessly, starting at image `start_image` of the stream
    (step s of a fixed-batch run starts at s * batch; a progressive run passes images shown);
    with `subset`, the stream of a seeded subset of that many images."""
    counts = [s["count"] for s in ds.manifest["shards"]]
    plan = SubsetPlan(counts, seed, subset) if subset else StreamPlan(counts, seed)
    pending: list[np.ndarray] = []
    have = 0
    loaded, reader = -1, None
    try:
        for shard, idx in plan.positions(start_image):
            if loaded != shard:
                if reader is not None:
                    reader.close()
                reader, loaded = ds.shard_reader(shard), shard
            pos = 0
            while pos < len(idx):
                take = min(batch - have, len(idx) - pos)
                pending.append(reader.take(idx[pos:pos + take]))
                have += take
                pos += take
                if have == batch:
                    yield pending[0] if len(pending) == 1 else np.concatenate(pending, axis=0)
                    pending, have = [], 0
    finally:
        if reader is not None:
            reader.close()


def make_dataset(ds: Dataset, batch: int, seed: int, start_image: int = 0, prefetch: int = 2,
                 subset: int | None = None):
    """A tf.data.Dataset of uint8 batches (see iter_batches), prefetched."""
    import tensorflow as tf  # noqa: PLC0415

    shape = (batch, ds.size, ds.size, ds.channels)
    out = tf.data.Dataset.from_generator(
        lambda: iter_batches(ds, batch, seed, start_image, subset),
        output_signature=tf.TensorSpec(shape, tf.uint8),
    )
    return out.prefetch(prefetch)

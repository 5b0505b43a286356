"""The data stream: every epoch is a permutation, and resuming at step s yields what an
uninterrupted stream yields from s on (what makes resume bit-identical)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gantool.data.pipeline import StreamPlan, iter_batches, make_dataset
from gantool.data.shards import open_dataset


@given(counts=st.lists(st.integers(1, 7), min_size=1, max_size=4), seed=st.integers(0, 99),
       start=st.integers(0, 40))
@settings(max_examples=60, deadline=None)
def test_plan_epochs_are_permutations_and_resume_matches(counts, seed, start):
    plan = StreamPlan(counts, seed)
    total = sum(counts)
    epochs = start // total + 4
    seq = [(s, int(i)) for s, idx in itertools.islice(plan.positions(0), epochs * len(counts)) for i in idx]
    for e in range(2):
        epoch = seq[e * total:(e + 1) * total]
        assert sorted(epoch) == sorted((s, i) for s, c in enumerate(counts) for i in range(c))
    resumed = [(s, int(i)) for s, idx in itertools.islice(plan.positions(start), 2 * len(counts)) for i in idx]
    assert len(resumed) >= total
    assert resumed == seq[start:start + len(resumed)]


def test_epochs_differ_and_seeds_differ():
    a, b = StreamPlan([50], 0), StreamPlan([50], 1)
    assert not np.array_equal(a.epoch(0)[0][1], a.epoch(1)[0][1])
    assert not np.array_equal(a.epoch(0)[0][1], b.epoch(0)[0][1])


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    from conftest import run_cli

    out = tmp_path_factory.mktemp("pipe") / "digits_8"
    res = run_cli("prep", "builtin:digits", "--size", 8, "--out", out, "--shard-size", 500, "-q", "--json")
    assert res.rc == 0, res
    return open_dataset(out)


def test_batches_stream_across_shards_and_resume(tiny_dataset):
    ds = tiny_dataset
    assert len(ds.manifest["shards"]) == 4  # 1797 images, 500 per shard
    it = iter_batches(ds, 100, seed=5)
    first = [next(it) for _ in range(40)]  # 4000 images: more than two epochs
    assert all(b.shape == (100, 8, 8, 1) and b.dtype == np.uint8 for b in first)
    later = iter_batches(ds, 100, seed=5, start_image=2300)
    for k in range(23, 40):
        assert np.array_equal(next(later), first[k])
    # one epoch shows every image once: compare as multisets of image bytes
    allimg = ds.load_all().reshape(1797, -1)
    epoch = np.concatenate(first)[:1797].reshape(1797, -1)
    key = lambda a: sorted(map(bytes, a))  # noqa: E731
    assert key(epoch) == key(allimg)


def test_tf_data_wraps_the_same_stream(tiny_dataset):
    ds = make_dataset(tiny_dataset, 64, seed=2, start_image=192)
    got = [b.numpy() for b in ds.take(2)]
    it = iter_batches(tiny_dataset, 64, seed=2, start_image=192)
    assert np.array_equal(got[0], next(it)) and np.array_equal(got[1], next(it))

"""eval's parts on small arrays: nearest neighbours against brute force, the memorisation
numbers, image sources, the real-feature cache key, and every registered metric."""

import numpy as np
import pytest

from gantool.eval import nn, sources
from gantool.eval.cache import FeatureCache
from gantool.eval.metrics import METRICS, Inputs, parse_metrics, summary


def test_nearest_matches_brute_force_and_excludes_self():
    r = np.random.default_rng(0)
    q, refs = r.normal(size=(37, 6)), r.normal(size=(53, 6))
    d, i = nn.nearest(q, refs, 4, block=8)
    full = np.sqrt(((q[:, None, :] - refs[None, :, :]) ** 2).sum(-1))
    want = np.argsort(full, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(i, want)
    np.testing.assert_allclose(d, np.take_along_axis(full, want, 1), rtol=1e-9, atol=1e-9)
    d, i = nn.nearest(refs, refs, 1, exclude_self=True, block=16)
    np.fill_diagonal(full2 := np.sqrt(((refs[:, None] - refs[None]) ** 2).sum(-1)), np.inf)
    np.testing.assert_array_equal(i[:, 0], full2.argmin(1))
    assert (i[:, 0] != np.arange(len(refs))).all()
    sel = np.array([3, 10, 40])
    d, i = nn.nearest(refs[sel], refs, 1, exclude=sel)
    np.testing.assert_array_equal(i[:, 0], full2.argmin(1)[sel])
    ref = nn.real_reference(refs, 20, seed=1)
    assert len(ref) == 20 and set(np.round(ref, 9)) <= set(np.round(full2.min(1), 9))


def test_memorisation_numbers_tell_copies_from_new_samples():
    r = np.random.default_rng(1)
    real = r.normal(size=(400, 5))
    real_d1 = nn.real_reference(real, 1000)
    copies = real[:100] + r.normal(scale=1e-4, size=(100, 5))
    fresh = r.normal(size=(100, 5))
    st_copy = nn.memorisation_stats(nn.nearest(copies, real, 1)[0][:, 0], real_d1)
    st_new = nn.memorisation_stats(nn.nearest(fresh, real, 1)[0][:, 0], real_d1)
    assert st_copy["ratio"] < 0.01 and st_copy["near_copies"] == 1.0
    assert 0.5 < st_new["ratio"] < 2.0 and st_new["near_copies"] < 0.1


def test_nn_grid_layout():
    fakes = np.full((3, 4, 4, 1), 200, np.uint8)
    neigh = np.zeros((3, 5, 4, 4, 1), np.uint8)
    g = nn.nn_grid(fakes, neigh, gap=4)
    assert g.shape == (2 + 3 * 6, (2 + 6) + 4 + (2 + 5 * 6), 1)
    assert g[2:6, 2:6].min() == 200 and g[2:6, 8:12].min() == 255  # generated, then the white gap


def test_conform_sizes_and_channels():
    r = np.random.default_rng(2)
    rgb = r.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    small = sources.conform(rgb, 16, 3)
    np.testing.assert_allclose(small[0, 0, 0], rgb[0, :2, :2].reshape(4, 3).mean(0), atol=0.51)
    grey = sources.conform(rgb, 32, 1)
    assert grey.shape == (2, 32, 32, 1)
    assert abs(int(grey[0, 5, 5, 0]) - (rgb[0, 5, 5] @ [0.299, 0.587, 0.114])) <= 0.51
    assert sources.conform(grey, 64, 3).shape == (2, 64, 64, 3)


class FakeDs:
    """A dataset of 3 shards whose pixel values are the global image index."""

    def __init__(self, counts=(5, 7, 4), size=8):
        self.counts, self.size, self.channels = counts, size, 1
        self.count = sum(counts)
        self.manifest = {"shards": [{"file": f"s{i}.npz", "count": c, "sha256": f"h{i}"} for i, c in enumerate(counts)]}
        self.offsets = np.cumsum([0, *counts])

    def load_shard(self, s):
        idx = np.arange(self.offsets[s], self.offsets[s + 1])
        return np.broadcast_to(idx[:, None, None, None], (len(idx), self.size, self.size, 1)).astype(np.uint8)

    def shard_paths(self):
        return [None] * len(self.counts)


@pytest.mark.parametrize("count,batch", [(None, 3), (9, 4), (16, 16), (2, 5)])
def test_real_source_streams_its_subset_in_order_and_fetches_by_position(count, batch):
    ds = FakeDs()
    src = sources.RealSource(ds, count, seed=3, size=8)
    got = np.concatenate(list(src.batches(batch)))
    assert len(got) == src.count == (count or 16)
    assert all(len(b) <= batch for b in src.batches(batch))
    np.testing.assert_array_equal(got[:, 0, 0, 0], src.indices)
    pos = np.array([src.count - 1, 0, src.count // 2])
    np.testing.assert_array_equal(src.fetch(pos)[:, 0, 0, 0], src.indices[pos])
    half = sources.RealSource(ds, count, seed=3, size=4)  # box-filtered
    assert next(iter(half.batches(batch))).shape[1:] == (4, 4, 1)


def test_cache_key_depends_on_data_subset_size_and_network(tmp_path):
    class Net:
        name, source = "random-inceptionv3 (seed 0)", "random"

    ds = FakeDs()
    base = FeatureCache.key(sources.RealSource(ds, None, 0, 8), Net)
    assert base == FeatureCache.key(sources.RealSource(ds, None, 0, 8), Net)
    assert base != FeatureCache.key(sources.RealSource(ds, 10, 0, 8), Net)
    assert base != FeatureCache.key(sources.RealSource(ds, None, 0, 4), Net)
    other = FakeDs()
    other.manifest["shards"][1]["sha256"] = "changed"
    assert base != FeatureCache.key(sources.RealSource(other, None, 0, 8), Net)

    class Net2(Net):
        name = "random-inceptionv3 (seed 1)"

    assert base != FeatureCache.key(sources.RealSource(ds, None, 0, 8), Net2)
    cache = FeatureCache(tmp_path / "stats")
    feats = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    assert cache.get(base) is None
    cache.put(base, feats, {"x": 1})
    np.testing.assert_array_equal(cache.get(base, 16), feats)
    assert cache.get(base, 17) is None  # wrong length: a miss, never a wrong answer
    cache.path(base).write_bytes(b"torn")
    assert cache.get(base) is None


@pytest.mark.parametrize("name", METRICS.names())
def test_every_registered_metric_computes_and_summarises(name):
    from types import SimpleNamespace

    r = np.random.default_rng(4)
    imgs = r.integers(0, 256, (40, 16, 16, 1), dtype=np.uint8)
    x = Inputs(fake_feats=r.normal(size=(40, 8)), real_feats=r.normal(size=(50, 8)),
               fake_ms=imgs[:20], real_ms=imgs[20:], fake_nn=r.normal(size=(30, 8)), real_nn=r.normal(size=(50, 8)),
               nn_space="pixel")
    cfg = SimpleNamespace(kid_subsets=5, kid_subset_size=20, seed=0, pr_k=3, pairs=50, nn_k=5, nn_show=4)
    out = METRICS.get(name).compute(x, cfg)
    assert np.isfinite(out["value"])
    assert summary(name, out)


def test_parse_metrics():
    assert parse_metrics("FID, kid,fid") == ["fid", "kid"]
    from gantool.errors import UsageError

    with pytest.raises(UsageError, match="unknown metric 'is'.*fid"):
        parse_metrics("fid,is")
    with pytest.raises(UsageError):
        parse_metrics(" , ")

"""Nearest training images of generated ones (the HDCGAN report's Fig. 4): did the model learn
the distribution or memorise the training set?

Distances are Euclidean, in Inception feature space when a network is available, else in pixel
space (images box-filtered to at most PIXEL_SIDE px, values in [0, 1]). Besides the grid, the
numbers that answer the question: how far each generated image is from its nearest training
image, against how far training images are from their own nearest (other) training image. A
generator that copies sits much closer to the training set than the set is to itself.
"""

from __future__ import annotations

import html

import numpy as np

from gantool.eval.metric import Context, Inputs, Metric, img_tag, register
from gantool.images import downscale_area, grid, write_png

PIXEL_SIDE = 32


def pixel_features(images_uint8: np.ndarray, side: int = PIXEL_SIDE) -> np.ndarray:
    side = min(side, images_uint8.shape[1])
    small = downscale_area(images_uint8, side) / 255.0
    return small.reshape(len(small), -1).astype(np.float32)


def nearest(queries: np.ndarray, refs: np.ndarray, k: int, exclude_self: bool = False,
            exclude: np.ndarray | None = None, block: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(distances, indices), each (len(queries), k), nearest first. With exclude_self, queries
    are refs themselves and row i never returns index i; `exclude` names, per query, one ref
    index it must not return (queries that are a subset of refs)."""
    q = np.asarray(queries, np.float64)
    r = np.asarray(refs, np.float64)
    if exclude_self:
        exclude = np.arange(len(q))
    k = min(k, len(r) - (1 if exclude is not None else 0))
    if k < 1:
        raise ValueError("nearest neighbours need at least one reference")
    rr = (r * r).sum(1)
    dist = np.empty((len(q), k))
    idx = np.empty((len(q), k), np.int64)
    for i in range(0, len(q), block):
        qb = q[i:i + block]
        d2 = np.maximum((qb * qb).sum(1)[:, None] + rr[None, :] - 2.0 * qb @ r.T, 0.0)
        if exclude is not None:
            d2[np.arange(len(qb)), exclude[i:i + block]] = np.inf
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(d2, part, 1).argsort(axis=1, kind="stable")
        idx[i:i + block] = np.take_along_axis(part, order, 1)
        dist[i:i + block] = np.sqrt(np.take_along_axis(d2, idx[i:i + block], 1))
    return dist, idx


def real_reference(real: np.ndarray, queries: int, seed: int = 0) -> np.ndarray:
    """Distances of up to `queries` random training images to their nearest other training
    image (a sample of the set's own spacing: the full set against itself is quadratic)."""
    n = len(real)
    sel = np.sort(np.random.default_rng([seed, 13]).permutation(n)[:min(n, queries)])
    return nearest(real[sel], real, 1, exclude=sel)[0][:, 0]


def memorisation_stats(fake_d1: np.ndarray, real_d1: np.ndarray) -> dict:
    """fake_d1: each generated image's distance to its nearest training image; real_d1: each
    training image's distance to its nearest other training image."""
    p1 = float(np.percentile(real_d1, 1))
    return {
        "fake_to_real": {"mean": float(fake_d1.mean()), "median": float(np.median(fake_d1)),
                         "min": float(fake_d1.min()), "p5": float(np.percentile(fake_d1, 5))},
        "real_to_real": {"mean": float(real_d1.mean()), "median": float(np.median(real_d1)),
                         "min": float(real_d1.min()), "p1": p1},
        # < 1: generated images sit closer to the training set than it is to itself
        "ratio": float(np.median(fake_d1) / max(np.median(real_d1), 1e-12)),
        # share of generated images closer to a training image than 99 % of training images are
        # to their nearest other one (about 0.01 for a model that does not copy)
        "near_copies": float((fake_d1 < p1).mean()),
    }


def nn_grid(fakes: np.ndarray, neighbours: np.ndarray, gap: int = 4) -> np.ndarray:
    """Row i: generated image i, a gap, then its nearest training images (neighbours[i])."""
    k, n = neighbours.shape[:2]
    h, w, c = fakes.shape[1:]
    left = grid(fakes, cols=1)
    right = grid(neighbours.reshape(k * n, h, w, c), cols=n)
    spacer = np.full((left.shape[0], gap, c), 255, np.uint8)
    return np.concatenate([left, spacer, right], axis=1)


def _compute(x: Inputs, cfg) -> dict:
    d_fake, i_fake = nearest(x.fake_nn, x.real_nn, cfg.nn_k)
    st = memorisation_stats(d_fake[:, 0], real_reference(x.real_nn, max(len(x.fake_nn), 1000), cfg.seed))
    x.extra["nn_index"] = i_fake[:cfg.nn_show]
    return {"value": st["ratio"], "space": x.nn_space, "generated": len(x.fake_nn), "neighbours": int(i_fake.shape[1]),
            **st, "shown": [{"generated": i, "nearest": [int(j) for j in row], "distances": [float(d) for d in drow]}
                            for i, (row, drow) in enumerate(zip(i_fake[:cfg.nn_show], d_fake[:cfg.nn_show]))]}


def _summary(r: dict) -> str:
    return (f"median distance to nearest training image {r['fake_to_real']['median']:.4g} vs training set to itself "
            f"{r['real_to_real']['median']:.4g} (ratio {r['ratio']:.2f}; near copies {100 * r['near_copies']:.1f} %; "
            f"{r['space']} space)")


def _files(r: dict, x: Inputs, ctx: Context) -> dict:
    """nn.png: the first generated images, each beside its nearest training images."""
    idx = x.extra.get("nn_index")
    if idx is None or len(ctx.first) < len(idx):
        return {}
    shown = np.stack(ctx.first[:len(idx)])
    neighbours = ctx.real.fetch(idx.reshape(-1)).reshape(idx.shape + (ctx.size, ctx.size, ctx.real.channels))
    path = ctx.out / "nn.png"
    write_png(path, nn_grid(shown, neighbours), scale=max(1, 64 // ctx.size))
    r["grid"] = str(path)
    for row, pos in zip(r["shown"], idx):
        row["dataset_index"] = [int(ctx.real.indices[p]) for p in pos]
    return {"nn": str(path)}


def _html(r: dict, files: dict) -> str:
    return ("<h2>Nearest training images</h2><p>Each row: a generated image (left), then its "
            f"{r['neighbours']} nearest training images in {html.escape(r['space'])} space, nearest first. "
            "Look-alikes in every row mean the model memorised the training set.</p>"
            + img_tag(files.get("nn"), "nearest neighbours"))


register(Metric("nn", "nearest neighbours", frozenset({"nn"}), _compute, _summary, lower_is_better=False,
                better="ratio near 1 is healthy; well below 1 = copying", log_fields=(("near_copies", "near_copies"),),
                files=_files, html=_html))

"""Adaptive discriminator augmentation (Karras et al. 2020b, "Training GANs with limited data"),
the 'bgc' pipeline: blits, geometric and colour transforms, each applied to an image with the
same probability p, differentiable with respect to the images.

Transforms and strengths (the paper's defaults, appendix B; "lognormal(s)" = 2^N(0, s^2), i.e.
a lognormal with std s*ln2 in log space):
  blit      x-flip (mirror with probability 1/2 once applied), 90-degree rotation (k ~ U{0..3}),
            integer translation (U(-0.125, 0.125) of the side, rounded to whole pixels);
  geometric isotropic scale lognormal(0.2), pre-rotation U(-pi, pi), anisotropic scale
            lognormal(0.2) on x and its inverse on y, post-rotation U(-pi, pi), fractional
            translation N(0, 0.125) of the side; each rotation is applied with probability
            1 - sqrt(1 - p), so that some rotation happens with probability p;
  colour    brightness + N(0, 0.2), contrast x lognormal(0.5), luma flip (mirror along the
            luma axis with probability 1/2), hue rotation U(-pi, pi) about the luma axis,
            saturation x lognormal(1) away from the luma axis.
All geometric transforms (blits included) compose into one 3x3 matrix per image, applied once
by bilinear resampling with reflect padding (numpy's 'reflect': the edge pixel is not
repeated); transforms that land on whole pixels (flip, rot90, integer translation) reproduce
the pixels exactly. All colour transforms compose into one 4x4 matrix applied to (r, g, b, 1);
grey images get brightness, contrast and luma flip (a grey image's luma is the image itself,
so the flip is x -> -x about mid-grey 0; hue and saturation do nothing to grey).
Differences from the paper: bilinear resampling instead of its wavelet-filtered 2x-upsampled
bicubic resampling, so fractional transforms blur a little (they do so to real and generated
images alike); the image-space filtering and corruption groups ('f', 'c') are not included.

Images are float32 NHWC in [-1, 1] (any size >= 8, 1 or 3 channels; the 90-degree rotations
assume square images). Randomness comes from `draws` with the engine's interface
(gantool.train.draws.Draws: uniform(shape, minval, maxval) and normal(shape), first dimension =
rows): every transform draws its numbers whether or not it is enabled, in a fixed order, so an
augmentation is a pure function of the step's seed.

`adjust_p` is the controller: r_t = E[sign(D(real))] over an interval of steps moves p by
sign(r_t - target) * images_in_interval / (ada_kimg * 1000), clipped to [0, 1].
"""

from __future__ import annotations

import math

from gantool.images import batch_rows

BGC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
       "brightness", "contrast", "lumaflip", "hue", "saturation")
GEOMETRIC = BGC[:7]
COLOUR = BGC[7:]
GREY_COLOUR = ("brightness", "contrast", "lumaflip")

STRENGTHS = {"xint_max": 0.125, "scale_std": 0.2, "rotate_max": 1.0, "aniso_std": 0.2, "xfrac_std": 0.125,
             "brightness_std": 0.2, "contrast_std": 0.5, "hue_max": 1.0, "saturation_std": 1.0}

TARGET, ADA_KIMG, INTERVAL = 0.6, 500, 4


def adjust_p(p: float, rt: float, images: int, target: float = TARGET, ada_kimg: float = ADA_KIMG) -> float:
    """The next p after an interval in which D saw `images` real images (batch * interval steps)
    and E[sign(D(real))] was `rt`: p + sign(rt - target) * images / (ada_kimg * 1000), in [0, 1]."""
    step = (1.0 if rt > target else -1.0 if rt < target else 0.0) * images / (ada_kimg * 1000.0)
    return float(min(1.0, max(0.0, p + step)))


def augment(x, p, draws, ops=BGC):
    """x: float32 (N, H, W, C) in [-1, 1]; p: probability (float or scalar tensor); `ops` a
    subset of BGC (order does not matter: the pipeline's order is fixed). -> same shape/dtype."""
    import tensorflow as tf  # noqa: PLC0415

    unknown = set(ops) - set(BGC)
    if unknown:
        raise ValueError(f"unknown ADA transform(s) {sorted(unknown)}; known: {', '.join(BGC)}")
    p = tf.cast(p, tf.float32)
    n = batch_rows(x)
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    geo = geometry(n, h, w, p, draws, ops)
    if any(o in ops for o in GEOMETRIC):
        x = resample(x, geo)
    if any(o in ops for o in COLOUR):
        x = apply_colour(x, colour(n, c, p, draws, ops))
    return x


# -- per-image parameters

def _gate(tf, n, prob, draws, on: bool):
    """(N,) float 0/1: 1 where the transform is applied (always draws, so the stream is fixed)."""
    u = draws.uniform([n], 0.0, 1.0)
    return tf.cast(u < prob, tf.float32) if on else tf.zeros([n], tf.float32)


def _exp2(tf, t):
    return tf.pow(2.0, t)


def _mat3(tf, rows):
    return tf.stack([tf.stack(r, axis=-1) for r in rows], axis=-2)


def _scale2(tf, sx, sy):
    z, o = tf.zeros_like(sx), tf.ones_like(sx)
    return _mat3(tf, [[sx, z, z], [z, sy, z], [z, z, o]])


def _translate2(tf, tx, ty):
    z, o = tf.zeros_like(tx), tf.ones_like(tx)
    return _mat3(tf, [[o, z, tx], [z, o, ty], [z, z, o]])


def _rotate2(tf, cos, sin):
    z, o = tf.zeros_like(cos), tf.ones_like(cos)
    return _mat3(tf, [[cos, -sin, z], [sin, cos, z], [z, z, o]])


def geometry(n, h, w, p, draws, ops=BGC):
    """(N, 3, 3): maps an output pixel's centred coordinates (x right, y down, in pixels) to the
    input position it samples. Each transform T contributes its inverse, M <- M @ T^-1."""
    import tensorflow as tf  # noqa: PLC0415

    s = STRENGTHS
    m = tf.eye(3, batch_shape=[n])
    # x-flip: applied with p, then mirror with probability 1/2 (the paper's i ~ U{0, 1})
    g = _gate(tf, n, p, draws, "xflip" in ops)
    i = tf.floor(draws.uniform([n], 0.0, 2.0)) * g
    m = m @ _scale2(tf, 1.0 - 2.0 * i, tf.ones([n]))
    # 90-degree rotations, exact integer matrices
    g = _gate(tf, n, p, draws, "rotate90" in ops)
    k = tf.cast(tf.minimum(tf.floor(draws.uniform([n], 0.0, 4.0)), 3.0) * g, tf.int32)
    cos, sin = tf.gather([1.0, 0.0, -1.0, 0.0], k), tf.gather([0.0, 1.0, 0.0, -1.0], k)
    m = m @ _rotate2(tf, cos, -sin)
    # integer translation in whole pixels
    g = _gate(tf, n, p, draws, "xint" in ops)
    t = draws.uniform([n, 2], -s["xint_max"], s["xint_max"]) * g[:, None]
    m = m @ _translate2(tf, -tf.round(t[:, 0] * w), -tf.round(t[:, 1] * h))
    # isotropic scale
    g = _gate(tf, n, p, draws, "scale" in ops)
    sc = _exp2(tf, draws.normal([n]) * s["scale_std"] * g)
    m = m @ _scale2(tf, 1.0 / sc, 1.0 / sc)
    p_rot = 1.0 - tf.sqrt(tf.clip_by_value(1.0 - p, 0.0, 1.0))
    # pre-rotation
    g = _gate(tf, n, p_rot, draws, "rotate" in ops)
    th = draws.uniform([n], -math.pi, math.pi) * s["rotate_max"] * g
    m = m @ _rotate2(tf, tf.cos(-th), tf.sin(-th))
    # anisotropic scale
    g = _gate(tf, n, p, draws, "aniso" in ops)
    sc = _exp2(tf, draws.normal([n]) * s["aniso_std"] * g)
    m = m @ _scale2(tf, 1.0 / sc, sc)
    # post-rotation
    g = _gate(tf, n, p_rot, draws, "rotate" in ops)
    th = draws.uniform([n], -math.pi, math.pi) * s["rotate_max"] * g
    m = m @ _rotate2(tf, tf.cos(-th), tf.sin(-th))
    # fractional translation
    g = _gate(tf, n, p, draws, "xfrac" in ops)
    t = draws.normal([n, 2]) * s["xfrac_std"] * g[:, None]
    return m @ _translate2(tf, -t[:, 0] * w, -t[:, 1] * h)


def colour(n, c, p, draws, ops=BGC):
    """(N, 4, 4) colour matrices on (r, g, b, 1) (for grey, only [0, 0] and [0, 3] are used).
    Each transform T is applied after the previous ones: C <- T @ C."""
    import tensorflow as tf  # noqa: PLC0415

    s = STRENGTHS
    grey = c == 1
    eye = tf.eye(4, batch_shape=[n])
    # luma axis: (1, 1, 1)/sqrt(3) for RGB; a grey image's only channel is its luma
    v = tf.constant([1.0, 0.0, 0.0, 0.0] if grey else [1.0 / math.sqrt(3.0)] * 3 + [0.0])
    vv = tf.tensordot(v, v, axes=0)                                  # (4, 4) projector on it
    cm = eye
    g = _gate(tf, n, p, draws, "brightness" in ops)
    b = draws.normal([n]) * s["brightness_std"] * g
    col = tf.stack([b, b, b, tf.zeros([n])], axis=-1)[:, :, None]          # (N, 4, 1)
    cm = (eye + tf.pad(col, [[0, 0], [0, 0], [3, 0]])) @ cm                # translate along (1, 1, 1)
    g = _gate(tf, n, p, draws, "contrast" in ops)
    k = _exp2(tf, draws.normal([n]) * s["contrast_std"] * g)
    cm = tf.linalg.diag(tf.stack([k, k, k, tf.ones([n])], axis=-1)) @ cm
    g = _gate(tf, n, p, draws, "lumaflip" in ops)
    i = tf.floor(draws.uniform([n], 0.0, 2.0)) * g
    cm = (eye - 2.0 * vv[None] * i[:, None, None]) @ cm
    g = _gate(tf, n, p, draws, "hue" in ops and not grey)
    th = draws.uniform([n], -math.pi, math.pi) * s["hue_max"] * g
    cm = _rotate3_about_luma(tf, th) @ cm
    g = _gate(tf, n, p, draws, "saturation" in ops and not grey)
    sat = _exp2(tf, draws.normal([n]) * s["saturation_std"] * g)
    return (eye + (eye - vv[None]) * (sat - 1.0)[:, None, None]) @ cm   # scale away from the axis


def _rotate3_about_luma(tf, th):
    """(N, 4, 4) rotation by th about the unit axis (1, 1, 1)/sqrt(3) (Rodrigues' formula)."""
    a = 1.0 / math.sqrt(3.0)
    cos, sin = tf.cos(th)[:, None, None], tf.sin(th)[:, None, None]
    kx = tf.constant([[0.0, -a, a], [a, 0.0, -a], [-a, a, 0.0]])       # cross-product matrix of the axis
    outer = tf.fill([3, 3], a * a)
    r3 = cos * tf.eye(3)[None] + sin * kx[None] + (1.0 - cos) * outer[None]
    return tf.pad(r3, [[0, 0], [0, 1], [0, 1]]) + tf.pad(tf.ones([1, 1, 1]), [[0, 0], [3, 0], [3, 0]])


# -- applying them

def apply_colour(x, cm):
    import tensorflow as tf  # noqa: PLC0415

    if x.shape[-1] == 1:
        return x * cm[:, None, None, 0:1, 0] + cm[:, None, None, 0:1, 3]
    y = tf.einsum("nij,nhwj->nhwi", cm[:, :3, :3], x)
    return y + cm[:, None, None, :3, 3]


def _reflect(tf, i, size: int):
    """numpy 'reflect' indexing for any integer index (periodic with period 2 * (size - 1))."""
    if size == 1:
        return tf.zeros_like(i)
    period = 2 * (size - 1)
    i = tf.math.floormod(i, period)
    return tf.where(i > size - 1, period - i, i)


def resample(x, m):
    """Bilinear sampling of x (N, H, W, C) at M @ (centred output coordinates), reflect padding."""
    import tensorflow as tf  # noqa: PLC0415

    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    n = tf.shape(x)[0]
    ys, xs = tf.meshgrid(tf.range(h, dtype=tf.float32) - (h - 1) / 2.0,
                         tf.range(w, dtype=tf.float32) - (w - 1) / 2.0, indexing="ij")
    grid = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([h * w])])    # (3, HW)
    src = tf.einsum("nij,jk->nik", m, grid)                                               # (N, 3, HW)
    sx, sy = src[:, 0] + (w - 1) / 2.0, src[:, 1] + (h - 1) / 2.0
    x0, y0 = tf.floor(sx), tf.floor(sy)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    flat = tf.reshape(x, [n, h * w, c])

    def tap(dy, dx):
        idx = _reflect(tf, y0 + dy, h) * w + _reflect(tf, x0 + dx, w)
        return tf.gather(flat, idx, axis=1, batch_dims=1)

    top = tap(0, 0) * (1.0 - fx) + tap(0, 1) * fx
    bottom = tap(1, 0) * (1.0 - fx) + tap(1, 1) * fx
    return tf.reshape(top * (1.0 - fy) + bottom * fy, [n, h, w, c])

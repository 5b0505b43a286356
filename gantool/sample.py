"""Sampling's pure parts: --seeds parsing, and the z samplers of gantool.latent re-exported (no TensorFlow).
Loading a generator lives in gantool.run.generator; writing samples in gantool.sample_run.

Which z: a model trained on uniform z (the default) is sampled from U(-r, r)^d with
r = --zrange (1 = the training range; the megapixel report cut artefacts with 0.4). A model
trained on normal z is sampled from N(0, 1)^d, truncated with --truncation T: every component
with |z| > T is redrawn until none is (the "truncation trick" of BigGAN). Each image's z comes
from its own seed (--seeds) or from (--seed, index), so one image never depends on how many
others are drawn with it.
"""

from __future__ import annotations

import re

import numpy as np

from gantool.errors import UsageError
from gantool.latent import draw_z, interpolate, z_for  # noqa: F401  (the z sampler lives in gantool.latent)


def parse_seeds(text: str, flag: str = "--seeds") -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7] (order kept, ranges inclusive); errors name `flag`."""
    out: list[int] = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise UsageError(f"{flag}: {part!r} is not N or A-B (e.g. 0-35,42)")
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        if b < a:
            raise UsageError(f"{flag}: range {part!r} runs backwards")
        if b - a > 10_000_000:
            raise UsageError(f"{flag}: range {part!r} is too long")
        out.extend(range(a, b + 1))
    if not out:
        raise UsageError(f"{flag}: no seeds given")
    return out

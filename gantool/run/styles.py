"""Generators with a mapping network: truncation toward the mean w (--psi), style mixing (--mix)
and fixed noise, for sample and export.

A generator has a mapping network when its Keras model holds a layer "mapping" (z -> w, with a
layer "w_avg" whose variable `w_avg` is the tracked mean w) and a layer "synthesis" (ws
(N, num_ws, w_dim) -> image), G(z) = synthesis(broadcast(mapping(z))). That is what is asked of
the loaded model, not a variant's name: any variant built this way gets --psi and --mix.

- Truncation: ws' = w_avg + psi (ws - w_avg), on every ws (psi 1: G itself; psi 0: the image of
  w_avg for every z). It is baked into a model z -> image (`truncated_model`), so sampling,
  latent walks and exports all run one Keras model.
- Style mixing: cell (row, col) = synthesis(mix(ws_row, ws_col, cutoff)): the first `cutoff` ws
  (the coarse styles, 4x4 first) from the row's seed, the rest from the column's seed.
- Noise: per-pixel noise layers are set to their stored fixed maps ('const'), so the same seed
  and checkpoint give the same bytes (random noise would differ per call).
TensorFlow and Keras are imported inside the functions (habit 8)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gantool.errors import UsageError
from gantool.images import to_uint8
from gantool.run.generator import Generator

SAMPLING_NOISE = "const"  # the stored fixed noise maps: deterministic, and noise as trained is present
COARSE_MAX = 4            # default --mix-cutoff: the ws up to 8x8 (4x4 conv, 4x4 toRGB/8x8 conv0, 8x8 conv1, 8x8 toRGB)


@dataclass
class Styles:
    mapping: object     # keras.Model z -> w
    synthesis: object   # keras.Model ws -> image
    w_avg: np.ndarray   # (w_dim,) the tracked mean w
    num_ws: int

    @property
    def default_cutoff(self) -> int:
        """The coarse styles: the ws up to 8x8, at most half of them (small models)."""
        return max(1, min(COARSE_MAX, self.num_ws // 2))

    def cutoff(self, given: int | None) -> int:
        """--mix-cutoff as given (0..num_ws), or the default."""
        if given is None:
            return self.default_cutoff
        if not 0 <= given <= self.num_ws:
            raise UsageError(f"--mix-cutoff: must be in 0..{self.num_ws} (this model has {self.num_ws} ws), got {given}")
        return given


def styles_of(model) -> Styles | None:
    """The mapping/synthesis parts of a generator model, or None when it has no mapping network."""
    names = {layer.name for layer in getattr(model, "layers", [])}
    if not {"mapping", "synthesis"} <= names:
        return None
    mapping, synthesis = model.get_layer("mapping"), model.get_layer("synthesis")
    try:
        w_avg = np.asarray(mapping.get_layer("w_avg").w_avg, np.float32)
    except (ValueError, AttributeError):
        return None
    return Styles(mapping, synthesis, w_avg, int(synthesis.input_shape[1]))


def require_styles(gen: Generator, flag: str) -> Styles:
    """The generator's Styles, or a usage error naming the option and the variant."""
    styles = styles_of(gen.model)
    if styles is None:
        raise UsageError(f"{flag}: {gen.variant or 'this generator'} has no mapping network "
                         "(truncation toward the mean w and style mixing need one, e.g. stylegan2)")
    return styles


def fix_noise(gen: Generator) -> None:
    """Per-pixel noise inputs (if any) use their stored fixed maps: same seed, same bytes."""
    from gantool.models.stylegan2 import set_noise_mode  # noqa: PLC0415

    set_noise_mode(gen.model, SAMPLING_NOISE)


def ws_of(styles: Styles, z: np.ndarray, psi: float | None = None) -> np.ndarray:
    """z (N, z_dim) -> ws (N, num_ws, w_dim), truncated toward w_avg by psi when given."""
    from gantool.models.stylegan2 import truncate  # noqa: PLC0415

    w = np.asarray(styles.mapping(z, training=False), np.float32)
    ws = np.repeat(w[:, None, :], styles.num_ws, axis=1)
    return ws if psi is None else np.asarray(truncate(ws, styles.w_avg, float(psi)), np.float32)


def synthesize(styles: Styles, ws: np.ndarray) -> np.ndarray:
    """ws -> uint8 images."""
    return to_uint8(styles.synthesis(ws, training=False))


def truncated_model(styles: Styles, psi: float):
    """One Keras model z -> image computing synthesis(w_avg + psi (broadcast(mapping(z)) - w_avg)),
    with w_avg and psi frozen into it (for sampling and export)."""
    import keras  # noqa: PLC0415

    from gantool.models.stylegan2 import truncate  # noqa: PLC0415
    from gantool.models.stylegan2_layers import BroadcastW  # noqa: PLC0415

    w_avg = styles.w_avg

    class Truncation(keras.layers.Layer):
        def build(self, input_shape):
            self.w_avg = self.add_weight(shape=w_avg.shape, initializer=keras.initializers.Constant(w_avg),
                                         trainable=False, name="w_avg")

        def call(self, ws):
            return truncate(ws, self.w_avg, psi)

    z = keras.Input((int(styles.mapping.input_shape[-1]),), name="z")
    ws = Truncation(name="truncation")(BroadcastW(styles.num_ws, name="broadcast")(styles.mapping(z)))
    return keras.Model(z, styles.synthesis(ws), name="generator_truncated")


def with_psi(gen: Generator, psi: float | None, flag: str = "--psi") -> Generator:
    """The generator with truncation psi baked in (unchanged when psi is None)."""
    if psi is None:
        return gen
    return dataclasses.replace(gen, model=truncated_model(require_styles(gen, flag), psi))


def mix_grid(styles: Styles, z_rows: np.ndarray, z_cols: np.ndarray, cutoff: int,
             psi: float | None = None, batch: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (row images (R, ...), column images (C, ...), cells (R, C, ...)) as uint8: cell (i, j) is
    synthesis(mix(ws_row_i, ws_col_j, cutoff)), ws truncated by psi first when given."""
    from gantool.models.stylegan2 import mix_styles  # noqa: PLC0415

    cutoff = styles.cutoff(cutoff)
    wr, wc = ws_of(styles, z_rows, psi), ws_of(styles, z_cols, psi)
    pairs = [(i, j) for i in range(len(wr)) for j in range(len(wc))]
    cells = []
    for s in range(0, len(pairs), batch):
        part = pairs[s:s + batch]
        a = np.stack([wr[i] for i, _ in part])
        b = np.stack([wc[j] for _, j in part])
        cells.append(synthesize(styles, np.asarray(mix_styles(a, b, cutoff), np.float32)))
    cells = np.concatenate(cells).reshape(len(wr), len(wc), *cells[0].shape[1:])
    return synthesize(styles, wr), synthesize(styles, wc), cells

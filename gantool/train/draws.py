"""A train step's random numbers: stateless seeds from (--seed, step, update) and the rows of a
global batch that one replica or micro-batch keeps (see gantool.train.step, "Randomness")."""

from __future__ import annotations

from gantool.tfquiet import import_tf

# fold-in tags: which update of a step a draw belongs to
D_TAG, G_TAG, ALT_G_TAG, ALT_D_TAG, BEGIN_TAG = 1, 2, 3, 4, 5


class Draws:
    """Random numbers for rows [offset, offset + n) of a global batch of `total` rows.

    Mirrors tf.random.Generator's normal/uniform (first dimension = this slice's rows): each call
    draws the global tensor from stateless seed fold_in(key, call number) and keeps the slice.
    Drawing the global tensor costs a little extra work per replica and makes a row's numbers
    independent of how the batch is split."""

    def __init__(self, key, offset, total: int):
        self.tf = import_tf()
        self.key, self.offset, self.total, self.calls = key, offset, int(total), 0

    def _seed(self):
        seed = self.tf.random.experimental.stateless_fold_in(self.key, self.calls)
        self.calls += 1
        return seed

    def _full(self, shape):
        if isinstance(shape, (list, tuple)) and all(isinstance(d, int) for d in shape):
            return [self.total, *shape[1:]], shape[0]  # static: no shape ops in the graph
        tf = self.tf
        shape = tf.convert_to_tensor(shape, tf.int32)
        return tf.concat([[self.total], shape[1:]], 0), shape[0]

    def _rows(self, x, n):
        if isinstance(self.offset, int) and self.offset == 0 and isinstance(n, int) and n == self.total:
            return x  # one device, one micro-batch: the slice is the whole draw
        return x[self.offset:self.offset + n]

    def normal_like(self, x):
        """normal() of x's shape, as Python ints when the trace knows it."""
        return self.normal(x.shape.as_list() if x.shape.is_fully_defined() else self.tf.shape(x))

    def normal(self, shape):
        full, n = self._full(shape)
        return self._rows(self.tf.random.stateless_normal(full, self._seed()), n)

    def uniform(self, shape, minval=0.0, maxval=None, dtype=None):
        tf = self.tf
        dtype = dtype or tf.float32
        full, n = self._full(shape)
        maxval = 1.0 if maxval is None else maxval
        return self._rows(tf.random.stateless_uniform(full, self._seed(), minval, maxval, dtype=dtype), n)


def step_key(seed: int, step, tag: int):
    tf = import_tf()
    base = tf.constant([int(seed), 0x5EED], tf.int64)
    return tf.random.experimental.stateless_fold_in(tf.random.experimental.stateless_fold_in(base, step), tag)

"""In-process TensorFlow for tests that build models (imported quietly, once)."""

from gantool.tfquiet import import_tf


def tf():
    return import_tf()

"""In-process TensorFlow for tests that build models (imported quietly, once)."""

from gantool.tfquiet import import_tf


def tf():
    return import_tf()


def checkpoint_tensors(prefix, save_counter: bool = True) -> dict:
    """{name: numpy value} of every tensor a checkpoint saved, except the object graph: that proto
    names the Python objects (Keras numbers layers per process), it holds no training state, so a
    run in this process and one in a process of its own differ there. `save_counter=False` also
    drops the count of saves, which differs between a run and one resumed from a copy."""
    import numpy as np

    reader = tf().train.load_checkpoint(str(prefix))
    return {n: np.asarray(reader.get_tensor(n)) for n in reader.get_variable_to_shape_map()
            if n != "_CHECKPOINTABLE_OBJECT_GRAPH" and (save_counter or "save_counter" not in n)}

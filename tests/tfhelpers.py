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


def assert_same_training_state(a: dict, b: dict) -> None:
    """Two checkpoints' tensors (checkpoint_tensors) hold the same training state: every weight
    (G, D, the EMA copy), the step and the data position bit-identical; the Adam moments
    (`opt_g/`, `opt_d/`) equal to float32 rounding.

    Why the moments get a tolerance (docs/reliability.md): in one CI run the pggan fade test
    failed on at most six Adam moments of G (one of them of the 8 px toRGB layer, unused after
    its fade) and on no weight: a summation order inside TensorFlow's CPU kernels that varied
    between two processes. A moment the checkpoint lost would move the weights far beyond that."""
    import numpy as np

    assert a.keys() == b.keys() and len(a) > 10, sorted(set(a) ^ set(b))[:5]
    moments = {n for n in a if n.startswith(("opt_g/", "opt_d/"))}
    weights = [n for n in a if n not in moments and not np.array_equal(a[n], b[n])]
    assert not weights, f"{len(weights)} weights differ: {sorted(weights)[:5]}"
    far = {n: float(np.max(np.abs(a[n] - b[n]))) for n in moments
           if not np.allclose(a[n], b[n], rtol=1e-5, atol=1e-10)}
    assert not far, f"{len(far)} optimizer variables differ beyond rounding (max abs diff): {sorted(far.items())[:5]}"

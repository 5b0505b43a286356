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
    """Two checkpoints' tensors (checkpoint_tensors) hold the same training state, bit for bit:
    every weight (G, D, the EMA copy), the Adam moments, the step and the data position."""
    import numpy as np

    assert a.keys() == b.keys() and len(a) > 10, sorted(set(a) ^ set(b))[:5]
    differ = sorted(n for n in a if not np.array_equal(a[n], b[n]))
    moments = [n for n in differ if n.startswith(("opt_g/", "opt_d/"))]
    assert not differ, (f"{len(moments)} optimizer variables and {len(differ) - len(moments)} other tensors "
                        f"(weights, step, data position) differ: {differ[:5]}")


def same_state_in_one_of_two_tries(attempt) -> None:
    """`attempt(i)` runs try i's processes (in folders of its own) and returns the checkpoint
    prefixes of the uninterrupted and the resumed run; their states must be the same bit for bit
    (assert_same_training_state) in the first try, or else in a second one with fresh processes.

    Why a second try: two uninterrupted runs of one command, in processes of their own, can
    themselves differ, rarely (docs/reliability.md, "Runs that differ by themselves"). A resume
    that loses or changes any state fails both tries; the first try's failure is kept as a
    warning, so it shows in the test report."""
    import warnings

    failures = []
    for i in range(2):
        whole, resumed = attempt(i)
        try:
            assert_same_training_state(checkpoint_tensors(whole, save_counter=False),
                                       checkpoint_tensors(resumed, save_counter=False))
        except AssertionError as e:
            failures.append(f"try {i + 1}: {e}")
            continue
        if failures:
            warnings.warn(f"passed in try 2 with fresh processes; {failures[0]}", stacklevel=2)
        return
    raise AssertionError("; ".join(failures))

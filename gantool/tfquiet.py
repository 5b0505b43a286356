"""Import TensorFlow (and friends) without letting its C++ start-up noise reach the terminal.

TF's oneDNN/CPU-feature lines are written by C++ straight to fd 2 and ignore
TF_CPP_MIN_LOG_LEVEL for some messages, so fd 2 is pointed at /dev/null while the import
runs (DESIGN.md). Python-level errors raised by the import still propagate normally.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys


@contextlib.contextmanager
def silenced_stderr():
    """Redirect the process-level fd 2 (C and Python writers alike) to /dev/null."""
    if os.environ.get("GANTOOL_TF_VERBOSE"):
        yield
        return
    try:
        sys.stderr.flush()
    except Exception:
        pass
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        try:
            sys.stderr.flush()
        except Exception:
            pass
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _quiet_env() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


# Imported by TensorFlow's import (through tf.keras -> keras) only for Keras helpers gantool never
# uses: scikit-learn for Keras' scikit-learn wrappers (it pulls in scipy.stats), and
# matplotlib.pyplot for keras.visualization's plot_image_gallery; each cost every command's start
# a second or more on a 2-core machine (docs/bench/firststep.json: tf-import+sklearn,
# tf-import+matplotlib). Hidden while TF loads, so those helpers see the packages as absent; both
# import normally afterwards (losses.png draws with matplotlib).
NOT_FOR_TF = ("sklearn", "matplotlib")


@contextlib.contextmanager
def hidden_modules(names=NOT_FOR_TF):
    """Make `import NAME` fail inside the block for each NAME not imported yet (sys.modules[NAME] =
    None is Python's marker for that); the markers are removed on the way out."""
    hidden = [n for n in names if n not in sys.modules]
    for n in hidden:
        sys.modules[n] = None
    try:
        yield
    finally:
        for n in hidden:
            if n in sys.modules and sys.modules[n] is None:
                del sys.modules[n]


def import_tf(intra_op_threads: int | None = None):
    """Return the tensorflow module, imported quietly (and configured once)."""
    _quiet_env()
    already = "tensorflow" in sys.modules
    with silenced_stderr(), hidden_modules(), _no_gc_while(not already):
        import tensorflow as tf  # noqa: PLC0415  (heavy import on purpose, habit 8)

        tf.get_logger().setLevel("ERROR")
        if not already:
            split_cpu(tf)
        if not already and intra_op_threads:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


@contextlib.contextmanager
def _no_gc_while(importing: bool):
    """TensorFlow's import makes about a million Python objects that live as long as the process.
    The garbage collector would walk them all in each full collection it triggers while they are
    made (about five) and again in every later one; with it paused for the import and the result
    frozen (gc.freeze: kept out of all later collections, still freed by reference counting), a
    4-step tiny `gantool train dcgan` took 4.5 s instead of 5.3 s (by hand, 3 interleaved runs on
    a 2-core machine). The price: a reference cycle made by the import is never collected."""
    if not importing:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def split_cpu(tf) -> None:
    """Apply GANTOOL_CPU_DEVICES=N (gantool.train.distribute's doc): split the CPU into N logical
    devices at TensorFlow's start; a no-op once TF has initialised."""
    try:
        n = int(os.environ.get("GANTOOL_CPU_DEVICES", "0") or 0)
    except ValueError:
        return
    if n <= 1:
        return
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:  # TensorFlow already initialised its devices
        pass


def import_mtcnn():
    """Return the mtcnn.MTCNN class, imported quietly."""
    import_tf()
    with silenced_stderr():
        from mtcnn import MTCNN  # noqa: PLC0415
    return MTCNN

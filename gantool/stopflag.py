"""Ctrl-C (SIGINT) and SIGTERM as a request to stop at the next safe point.

Python's own Ctrl-C raises KeyboardInterrupt wherever the main thread happens to be, and C code
that probes Python objects (attribute or protocol lookups inside NumPy or TensorFlow calls) can
swallow that exception: the run then goes on as if nothing happened. A handler that only sets
a flag cannot be lost. Long-running commands check `requested` between units of work (a train
step, a prep chunk) and stop there; a second Ctrl-C raises KeyboardInterrupt at once.
"""

from __future__ import annotations

import signal


class StopFlag:
    """Context manager: `requested` is None, or the name of the first stop signal received."""

    def __init__(self):
        self.requested = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        self.requested = signal.Signals(signum).name
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False

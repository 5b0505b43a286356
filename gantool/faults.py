"""Named fault points, for the reliability tests (tests/reliability/) and for anyone who wants to
see what a crash at a given moment leaves behind.

GANTOOL_FAULT=NAME[@N] makes the process SIGKILL itself the N-th time (default: the first) it
reaches `point(NAME)`. With the variable unset a point costs one dictionary lookup. Points:

  train.step          after a training step, before anything of it is saved
  checkpoint.written  after TensorFlow wrote and indexed ckpt-N, before generator.keras and
                      state.json are replaced
  atomic.rename       in every atomic write (gantool.atomic.write_with), after the temporary
                      file is complete and before it is renamed onto the target
  sample.batch        in `gantool sample`, after a batch of images was written
  pack.swap           in `prep --overwrite`, after the old dataset was renamed to .NAME.old-PID
                      and before the new one is renamed onto --out
"""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get("GANTOOL_FAULT")
    if not spec:
        return
    want, _, nth = spec.partition("@")
    if want != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)

"""Errors the CLI turns into one line on stderr and a stable exit code.

- UsageError (exit 2): the user asked for something that cannot work (bad flag value,
  missing folder, unknown variant). Nothing was done.
- DataError / RunError (exit 1): the request was fine but the run failed
  (nothing could be packed, a checkpoint is unreadable, ...).
- Stopped (exit 130): a command stopped by a signal that has already reported it (train saves
  a checkpoint and prints its result first); the CLI adds nothing.
"""


class GantoolError(Exception):
    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UsageError(GantoolError):
    exit_code = 2


class DataError(GantoolError):
    exit_code = 1


class RunError(GantoolError):
    exit_code = 1


class Stopped(GantoolError):
    exit_code = 130

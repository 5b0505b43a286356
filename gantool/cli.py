"""The `gantool` command: registers subcommands and turns errors into one line + exit code.

Exit codes: 0 ok; 2 usage error (bad flag, missing path: nothing was done); 1 the run
failed; 130 interrupted. Tracebacks only with --debug (or GANTOOL_DEBUG=1).
No heavy imports here (habit 8): `gantool --help` must not load TensorFlow.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.core import TyperCommand, TyperGroup

from gantool import __version__
from gantool.commands.quickhelp import QuickHelpGroup
from gantool.console import error_line
from gantool.errors import GantoolError, Stopped

# name -> (module, attribute, the line `gantool --help` shows for it). A command's module is
# imported only when that command runs or shows its own help, so `gantool --help` and
# `gantool prep --help` do not pay for train's or eval's imports. The lines are the commands'
# docstrings (eval: eval_app's help), copied; tests/test_cli.py checks that they still match.
COMMANDS = {
    "prep": ("gantool.commands.prep", "prep",
             "Crop faces (or centre/pad) from photos, resize them and pack them into .npz shards."),
    "train": ("gantool.commands.train", "train",
              "Train a GAN on a packed dataset; writes a run folder with checkpoints, samples and logs."),
    "sample": ("gantool.commands.sample", "sample",
               "Generate images from a trained generator: PNGs, grid.png, optional .npz, latent walk and "
               "style-mixing grid."),
    "export": ("gantool.commands.export", "export",
               "Export the generator (z in, uint8 NHWC images out) and verify it against Keras."),
    "eval": ("gantool.commands.eval", "eval_app",
             "Measure a generator or a folder of images against a dataset: FID, KID, precision/recall, "
             "MS-SSIM diversity, nearest neighbours; or build a real-or-generated quiz page. "
             "`gantool eval RUN` is `gantool eval score RUN`."),
}


class LazyCommands(QuickHelpGroup):
    """The root group: each command is built from its module the first time it is looked up.

    Until then it is a placeholder that carries only its name and help line; the root help lists
    the placeholders (the list shows nothing else of a command), everything else gets the real one.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._listing = False
        self._built: set[str] = set()
        for name, (_, _, line) in COMMANDS.items():
            self.commands.setdefault(name, TyperCommand(name=name, help=line))

    def get_command(self, ctx, cmd_name):
        if cmd_name in COMMANDS and not self._listing and cmd_name not in self._built:
            self.commands[cmd_name] = _build(cmd_name, self)
            self._built.add(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx, formatter):
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _build(name: str, group: TyperGroup):
    """The click command for `name`, made exactly as app.command()/app.add_typer() would make it."""
    module, attr, _ = COMMANDS[name]
    obj = getattr(importlib.import_module(module), attr)
    holder = typer.Typer()
    if isinstance(obj, typer.Typer):
        holder.add_typer(obj, name=name)
        return typer.main.get_group_from_info(holder.registered_groups[0], pretty_exceptions_short=app.pretty_exceptions_short,
                                              rich_markup_mode=group.rich_markup_mode, suggest_commands=group.suggest_commands)
    holder.command(name)(obj)
    return typer.main.get_command_from_info(holder.registered_commands[0], pretty_exceptions_short=app.pretty_exceptions_short,
                                            rich_markup_mode=group.rich_markup_mode)


app = typer.Typer(
    name="gantool",
    cls=LazyCommands,
    help="GAN toolkit: prep photos, train, sample, evaluate. Every command takes --json.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # click's plain help formatter: typer's rich one imported rich and laid out a panel per option
    # group, which made `gantool train --help` (57 options) take 0.35 s; plain, every --help is
    # about 0.1 s (docs/bench/startup.json)
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"gantool {__version__}")
        raise typer.Exit(0)


# --version is a plain bool (it was Optional[bool] = None): typer sends every value that is not a
# bool through a pydantic coercion it builds, and imports pydantic for, on first use.
@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """GAN toolkit: prep photos, train, sample, evaluate."""


def _json_error(message: str, code: int) -> None:
    import json

    sys.stdout.write(json.dumps({"ok": False, "error": message, "exit_code": code}) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    from typer.exceptions import Abort, Exit, TyperException

    args = list(sys.argv[1:] if argv is None else argv)
    if "train" in args:
        from gantool.commands.train import normalise_argv

        args = normalise_argv(args)
    debug = "--debug" in args or os.environ.get("GANTOOL_DEBUG") == "1"
    want_json = "--json" in args
    command = typer.main.get_command(app)

    def fail(message: str, code: int) -> int:
        error_line(message)
        if want_json:
            _json_error(" ".join(message.split()), code)
        return code

    try:
        # non-standalone typer returns exit codes (Ctrl-C becomes 130) instead of raising them
        rv = command.main(args=args, prog_name="gantool", standalone_mode=False)
        if rv == 130:
            return fail("interrupted", 130)
        return rv if isinstance(rv, int) else 0
    except Exit as e:
        return int(e.exit_code or 0)
    except Stopped as e:  # already reported by the command, --json result included
        return e.exit_code
    except GantoolError as e:
        if debug:
            raise
        return fail(e.message, e.exit_code)
    except TyperException as e:  # typer's (vendored click) usage errors: bad flag, missing argument
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":
            print(ctx.get_help() if ctx else "", file=sys.stdout)
            return 2
        if debug:
            raise
        path = getattr(ctx, "command_path", "gantool") if ctx else "gantool"
        where = f"{path.split(' ', 1)[1]}: " if " " in path else ""
        return fail(f"{where}{e.format_message()}", int(getattr(e, "exit_code", 2) or 2))
    except (Abort, KeyboardInterrupt):
        return fail("interrupted", 130)
    except BrokenPipeError:
        return 1
    except OSError as e:  # a full disk, a quota, permissions: the machine, not a bug in gantool
        if debug:
            raise
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        return fail(f"system error: {e.strerror or e} (errno {e.errno}){where}", 1)
    except Exception as e:  # noqa: BLE001  (last resort: one line, no traceback)
        if debug:
            raise
        return fail(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", 1)


def entry() -> None:
    exit_now(main())


def exit_now(code: int) -> None:
    """End the process with `code`. Once TensorFlow is loaded, Python's own interpreter teardown
    (freeing every module and object) takes about a second on a 2-core machine after the work is
    done (docs/bench/firststep.json: tf-import minus tf-import+exit_now). Everything an exit owes the
    user still happens, in Python's order: non-daemon threads are joined, atexit handlers run
    (logging, multiprocessing, weakref finalizers such as TemporaryDirectory's), and stdout and
    stderr are flushed; then os._exit skips the teardown. gantool closes its own files, writers and
    worker pools before a command returns."""
    if "tensorflow" not in sys.modules:  # nothing slow to skip (e.g. --help)
        sys.exit(code)
    import atexit
    import threading

    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            t.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()

"""The `gantool` command: registers subcommands and turns errors into one line + exit code.

Exit codes: 0 ok; 2 usage error (bad flag, missing path: nothing was done); 1 the run
failed; 130 interrupted. Tracebacks only with --debug (or GANTOOL_DEBUG=1).
No heavy imports here (habit 8): `gantool --help` must not load TensorFlow.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from gantool import __version__
from gantool.commands.eval import eval_app
from gantool.commands.export import export
from gantool.commands.prep import prep
from gantool.commands.sample import sample
from gantool.commands.train import train
from gantool.console import error_line
from gantool.errors import GantoolError, Stopped

app = typer.Typer(
    name="gantool",
    help="GAN toolkit: prep photos, train, sample, evaluate. Every command takes --json.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"gantool {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """GAN toolkit: prep photos, train, sample, evaluate."""


def _register() -> None:
    app.command("prep")(prep)
    app.command("train")(train)
    app.command("sample")(sample)
    app.command("export")(export)
    app.add_typer(eval_app, name="eval")


_register()


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
    sys.exit(main())


if __name__ == "__main__":
    entry()

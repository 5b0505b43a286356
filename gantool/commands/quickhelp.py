"""What keeps Typer's --help quick: the group class that gantool's groups (the root, `eval`)
share, and a lighter import of typer's help formatter.

1. Typer coerces each parameter's value through a pydantic TypeAdapter that it builds on first
   use, unless the value is already a bool. A group's own help flag that was not given arrives as
   None, so `gantool prep --help` built an adapter for the root's unused --help, and importing
   pydantic for it cost more than the rest of the command's start-up. None passes through any of
   typer's coercions unchanged (RuntimeParam.coerce returns it before the adapter is asked) and a
   given flag is a bool, so the help flag gets the pass-through coercion: same values, no pydantic.

2. typer.rich_utils, which prints every --help, imports rich.markdown (markdown-it and pygments
   with it) and rich.traceback at its top: about a third of `gantool --help`'s imports. It uses
   Markdown only in markup mode "markdown" (gantool's groups keep typer's default, "rich") and
   Traceback only for typer's pretty exceptions (off: cli.main reports errors itself). While
   typer.rich_utils is imported, the two names come from stand-ins that import the real class
   the first time they are used, so the help is the same and the cost is paid only if they are.
"""

from __future__ import annotations

import importlib
import sys
import types

from typer.core import TyperGroup


class QuickHelpGroup(TyperGroup):
    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)
        if opt is not None and getattr(opt, "_runtime_param", False) is None:
            try:
                from typer._coercion import PassThroughRuntimeParam
            except ImportError:  # another typer: it builds its own coercion, only slower
                return opt
            opt._runtime_param = PassThroughRuntimeParam(parameter_info=opt.type_descriptor.parameter_info,
                                                         annotation=opt.type_descriptor.annotation)
        return opt


class _Deferred(type):
    """A stand-in class: calls, attributes and isinstance go to the real class, imported on first use."""

    def real(cls):
        return getattr(importlib.import_module(cls._module), cls.__name__)

    def __call__(cls, *args, **kwargs):
        return cls.real()(*args, **kwargs)

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(cls.real(), name)

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.real())


# what typer.rich_utils imports at its top but uses only in paths gantool does not take
_DEFERRED = (("rich.markdown", "Markdown"), ("rich.traceback", "Traceback"))


def import_help_formatter() -> None:
    """Import typer.rich_utils without rich.markdown and rich.traceback (see the module docstring)."""
    if "typer.rich_utils" in sys.modules:
        return
    placed = {}
    for module, name in _DEFERRED:
        if module not in sys.modules:
            stand_in = types.ModuleType(module)
            setattr(stand_in, name, _Deferred(name, (), {"_module": module}))
            placed[module] = sys.modules[module] = stand_in
    try:
        importlib.import_module("typer.rich_utils")
    finally:
        for module, stand_in in placed.items():  # a later `import rich.markdown` gets the real module
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]

"""What keeps Typer's --help quick: the group class that gantool's groups (the root, `eval`) share.

Typer coerces each parameter's value through a pydantic TypeAdapter that it builds on first use,
unless the value is already a bool. A group's own help flag that was not given arrives as None, so
`gantool prep --help` built an adapter for the root's unused --help, and importing pydantic for it
cost more than the rest of the command's start-up. None passes through any of typer's coercions
unchanged (RuntimeParam.coerce returns it before the adapter is asked) and a given flag is a bool,
so the help flag gets the pass-through coercion: same values, no pydantic.

(The other half of a quick --help: gantool's app uses click's plain help formatter
(`rich_markup_mode=None` in gantool.cli), so no --help imports rich or lays out rich panels.)
"""

from __future__ import annotations

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

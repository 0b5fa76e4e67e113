"""The typer application object; command modules register on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="netspace",
    help="Design network design spaces: sample, train and analyse AnyNet/RegNet populations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

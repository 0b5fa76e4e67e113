"""One-line errors and exit code 2 for bad input, never a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

from pydantic import ValidationError

from backend.designspace.spec import format_validation_error


class CliError(Exception):
    """Raised by commands for bad input; main() prints it as one line and exits 2."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def one_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(format_validation_error(exc))
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return " ".join(str(exc).split())


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)

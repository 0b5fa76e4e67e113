"""One-line errors and exit code 2 for bad input, never a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

from pydantic import ValidationError

from backend.fielderrors import InvalidField, as_field_errors
from backend.services.errors import ServiceError


class CliError(Exception):
    """Raised by commands for bad input; main() prints it as one line and exits 2."""


def fail(message: str) -> NoReturn:
    raise CliError(message)


def one_line(exc: BaseException) -> str:
    """The error as one line: typed field errors as 'field: message; ...', anything else as its text."""
    if isinstance(exc, ServiceError):
        return "; ".join(str(e) for e in exc.errors)
    if isinstance(exc, InvalidField | ValidationError):
        return "; ".join(str(e) for e in as_field_errors(exc))
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return " ".join(str(exc).split())


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)

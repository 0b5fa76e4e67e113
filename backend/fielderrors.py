"""Typed input errors: which field is at fault, what is wrong, and what would be allowed.

Every layer raises `InvalidField` (a ValueError, so pydantic validators may raise it too and pydantic keeps the
exception in the error's context) and the two edges read its `FieldError`s as they are: the API answers 422 with
one detail item per error, the CLI prints one line and exits 2. Nothing writes a field into a message and parses
it back out again, so a message may contain any text (colons included) without moving the error to another field.

This module imports only pydantic: the pure layers (designspace, analysis, importers) use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

#: pydantic location parts that are not field names (validator kinds, union members)
_NOT_FIELDS = ("function-after", "function-before", "function-wrap", "function-plain")


@dataclass(frozen=True)
class FieldError:
    """One bad input: `field` is a dotted path ('recipe.epochs', 'params.w.low'; '' = the input as a whole),
    `message` says what is wrong, `allowed` (when there is one) the allowed range or values."""

    field: str
    message: str
    allowed: str | None = None

    def within(self, prefix: str) -> FieldError:
        """The same error one level down: `prefix` + '.' + field (the prefix alone for a whole-input error)."""
        return replace(self, field=join_field(prefix, self.field))

    def text(self) -> str:
        """The message, with the allowed range appended when it is not already in it."""
        if self.allowed and self.allowed not in self.message:
            return f"{self.message}; allowed: {self.allowed}"
        return self.message

    def __str__(self) -> str:
        return f"{self.field}: {self.text()}" if self.field else self.text()


class InvalidField(ValueError):
    """A ValueError naming the input at fault: `raise InvalidField("low", "must be <= high")`.

    Carries one or more FieldErrors (`errors`); `field`, `message` and `allowed` are the first one's."""

    def __init__(self, field: str, message: str, allowed: str | None = None, *,
                 errors: Sequence[FieldError] | None = None) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors) if errors else (FieldError(field, message, allowed),)
        super().__init__("; ".join(str(e) for e in self.errors))

    @classmethod
    def of(cls, errors: Iterable[FieldError]) -> InvalidField:
        found = tuple(errors)
        if not found:
            raise ValueError("InvalidField.of needs at least one FieldError")
        return cls(found[0].field, found[0].message, found[0].allowed, errors=found)

    @property
    def field(self) -> str:
        return self.errors[0].field

    @property
    def message(self) -> str:
        return self.errors[0].message

    @property
    def allowed(self) -> str | None:
        return self.errors[0].allowed

    def within(self, prefix: str) -> InvalidField:
        return InvalidField.of(e.within(prefix) for e in self.errors)

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuilt from its errors (the default passes only the message): an error raised in a worker process
        (parallel imports) arrives in the parent with the same fields."""
        return _rebuild, (type(self), self.errors)


def _rebuild(cls: type[InvalidField], errors: tuple[FieldError, ...]) -> InvalidField:
    err = InvalidField.__new__(cls)
    InvalidField.__init__(err, "", "", errors=errors)
    return err


def join_field(prefix: str, field: str) -> str:
    """'recipe' + 'epochs' -> 'recipe.epochs'; either may be empty. A validator that names its own field relative
    to where pydantic reports it sometimes repeats the location's last part ('params' + 'params.wm'): once only."""
    if not prefix:
        return field
    if not field:
        return prefix
    parts, more = prefix.split("."), field.split(".")
    if parts[-1] == more[0]:
        more = more[1:]
    return ".".join(parts + more)


def as_field_errors(exc: BaseException, default_field: str = "") -> list[FieldError]:
    """The FieldErrors an exception stands for: an InvalidField's own, a pydantic ValidationError's (see
    validation_errors), else one error of `default_field` with the exception's text."""
    if isinstance(exc, InvalidField):
        return list(exc.errors)
    if isinstance(exc, ValidationError):
        return validation_errors(exc)
    return [FieldError(default_field, " ".join(str(exc).split()))]


def validation_errors(err: ValidationError, prefix: str = "") -> list[FieldError]:
    """pydantic's errors as FieldErrors under `prefix`: the location is the field; an InvalidField raised by a
    validator adds its own (sub-)field to that location and keeps its message and allowed range."""
    out = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"] if x not in _NOT_FIELDS)
        cause = (e.get("ctx") or {}).get("error")
        if isinstance(cause, InvalidField):
            out += [f.within(join_field(prefix, loc)) for f in cause.errors]
        else:
            out.append(FieldError(join_field(prefix, loc), str(e["msg"]).removeprefix("Value error, ")))
    return out

"""Service errors: the API maps them to HTTP statuses, the CLI to one line and exit code 2.

Each carries typed FieldErrors (backend.fielderrors): which input is at fault, what is wrong, what is allowed. The
API's 422 lists them as they are and the CLI joins them into its one line; neither parses a message.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.fielderrors import FieldError, as_field_errors


class ServiceError(Exception):
    """Base class; `field` names the input at fault (None when it is not one input)."""

    status = 400

    def __init__(self, message: str, field: str | None = None, allowed: str | None = None) -> None:
        self.errors: tuple[FieldError, ...] = (FieldError(field or "", message, allowed),)
        super().__init__(str(self))

    @property
    def message(self) -> str:
        return self.errors[0].message

    @property
    def field(self) -> str | None:
        return self.errors[0].field or None

    def __str__(self) -> str:
        return "; ".join(str(e) for e in self.errors)


class NotFound(ServiceError):
    status = 404


class InvalidInput(ServiceError):
    """Bad input found after schema validation (e.g. a dataset path that does not exist)."""

    status = 422

    @classmethod
    def of(cls, errors: Iterable[FieldError]) -> InvalidInput:
        found = tuple(errors)
        out = cls(found[0].message, found[0].field, found[0].allowed)
        out.errors = found
        return out

    @classmethod
    def from_error(cls, e: BaseException, default_field: str, within: str = "") -> InvalidInput:
        """The FieldErrors `e` carries (an InvalidField's, a pydantic ValidationError's; any other exception is
        one error of `default_field`), each put under `within` when given."""
        errors = as_field_errors(e, default_field)
        return cls.of(err.within(within) if within else err for err in errors)


class Conflict(ServiceError):
    """The request is valid but the current state forbids it (duplicate name, job already done)."""

    status = 409

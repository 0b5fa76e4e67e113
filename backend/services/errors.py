"""Service errors: the API maps them to HTTP statuses, the CLI to one line and exit code 2."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class; `field` names the input at fault (None when it is not one input)."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFound(ServiceError):
    status = 404


class InvalidInput(ServiceError):
    """Bad input found after schema validation (e.g. a dataset path that does not exist)."""

    status = 422

    @classmethod
    def from_value_error(cls, e: ValueError, default_field: str) -> InvalidInput:
        """Our validators write 'field: message'; keep that field, else use default_field."""
        text = " ".join(str(e).split())
        head, sep, rest = text.partition(": ")
        if sep and head and " " not in head:
            return cls(rest, head)
        return cls(text, default_field)


class Conflict(ServiceError):
    """The request is valid but the current state forbids it (duplicate name, job already done)."""

    status = 409

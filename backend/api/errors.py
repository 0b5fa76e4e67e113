"""Error responses: every 422 names the field and, for out-of-range values, the allowed range.

Body: {"detail": [{"loc": [...], "field": "n", "msg": "...", "type": "..."}], "message": "n: ..."}; 404 and
409: {"detail": "...", "field": "..."}.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterable
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.fielderrors import FieldError, InvalidField
from backend.services.errors import InvalidInput, ServiceError

from .querymodels import QueryModel

RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long",
                "string_too_short", "string_too_long"}
SOURCES = ("body", "query", "path", "header", "cookie")


def _unwrap(tp: Any) -> Any:
    """Optional[X] / X | None / Annotated[X, ...] -> X (the model class when there is one)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        for a in typing.get_args(tp):
            inner = _unwrap(a)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
        return tp
    return tp


def _bounds(metadata: list[Any]) -> str | None:
    """'[1, 10000]', '(0, 100]', '[0, ∞)' or 'length [1, 200]' from annotated-types constraints."""
    lo: Any = None
    hi: Any = None
    lo_open = hi_open = length = False
    for m in metadata:
        if isinstance(m, Ge | Gt):
            lo, lo_open = (m.ge, False) if isinstance(m, Ge) else (m.gt, True)
        elif isinstance(m, Le | Lt):
            hi, hi_open = (m.le, False) if isinstance(m, Le) else (m.lt, True)
        elif isinstance(m, MinLen):
            lo, length = m.min_length, True
        elif isinstance(m, MaxLen):
            hi, length = m.max_length, True
    if lo is None and hi is None:
        return None
    if length and lo is None:
        lo = 0
    left = "(" if lo_open or lo is None else "["
    right = ")" if hi_open or hi is None else "]"
    text = f"{left}{'-∞' if lo is None else lo}, {'∞' if hi is None else hi}{right}"
    return f"length {text}" if length else text


def _field_metadata(request: Request, loc: list[Any]) -> list[Any] | None:
    """The constraints declared on the field at `loc`, found from the matched route's models; for an element of a
    list (`loc` ends with its index: `ids=0`), the constraints on the list's items."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or len(loc) < 2:
        return None
    source, names = loc[0], [x for x in loc[1:] if isinstance(x, str)]
    item = isinstance(loc[-1], int)
    if source == "query":  # a query model parsed by QueryModel (api/querymodels.py) is one of the dependencies
        for model in (d.call.model for d in dependant.dependencies if isinstance(d.call, QueryModel)):
            found = _walk(model, names, item)
            if found is not None:
                return found
    fields = {"query": dependant.query_params, "path": dependant.path_params, "body": dependant.body_params}
    for f in fields.get(source, []):
        info = f.field_info
        model = _unwrap(info.annotation)
        if isinstance(model, type) and issubclass(model, BaseModel) and (source != "body" or f.name != names[0]):
            path = names
        elif f.name == names[0] or getattr(f, "alias", None) == names[0]:
            if len(names) == 1:
                return _constraints(info, item)
            path = names[1:]
        else:
            continue
        found = _walk(model, path, item)
        if found is not None:
            return found
    return None


def _walk(model: Any, path: list[str], item: bool = False) -> list[Any] | None:
    for i, name in enumerate(path):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or name not in model.model_fields:
            return None
        info = model.model_fields[name]
        if i == len(path) - 1:
            return _constraints(info, item)
        model = _unwrap(info.annotation)
    return None


def _constraints(info: Any, item: bool) -> list[Any]:
    """A field's constraints: its own, those of an Annotated member of `X | None` (`RowId | None`), or with
    `item` those of its list's items."""
    if item:
        return _item_metadata(info.annotation)
    if typing.get_origin(info.annotation) in (typing.Union, types.UnionType):
        for a in typing.get_args(info.annotation):
            if typing.get_origin(a) is typing.Annotated:
                return [*info.metadata, *typing.get_args(a)[1:]]
    return list(info.metadata)


def _item_metadata(tp: Any) -> list[Any]:
    """The constraints on the items of list[Annotated[X, ...]] (Optional or not): list[RowId] -> [Ge(1), Le(...)]."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return next((m for a in typing.get_args(tp) if (m := _item_metadata(a))), [])
    if typing.get_origin(tp) is list:
        inner = typing.get_args(tp)[0]
        if typing.get_origin(inner) is typing.Annotated:
            return list(typing.get_args(inner)[1:])
    return []


def _field_name(loc: list[Any]) -> str:
    """'recipe.epochs' from ['body', 'recipe', 'epochs']; a repeated query parameter is named without its index."""
    query = bool(loc) and loc[0] == "query"
    return ".".join(str(x) for x in loc if x not in SOURCES and not (query and isinstance(x, int)))


def describe(request: Request, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's request errors as detail items; an InvalidField raised by one of our validators gives its own
    (sub-)field, relative to the location pydantic reports, and its allowed range."""
    out = []
    for e in errors:
        loc = list(e.get("loc", ()))
        cause = (e.get("ctx") or {}).get("error")
        found = ([f.within(_field_name(loc)) for f in cause.errors] if isinstance(cause, InvalidField)
                 else [FieldError(_field_name(loc), str(e.get("msg", "invalid")).removeprefix("Value error, "))])
        value = e.get("input")
        for f in found:
            msg, allowed = f.message, f.allowed
            if isinstance(value, float) and not math.isfinite(value):
                # NaN fails every comparison, so pydantic would say "should be <= 100" about it: say what is wrong
                msg = f"must be a finite number (got {value})"
            if e.get("type") in RANGE_ERRORS:
                bounds = _bounds(_field_metadata(request, loc) or [])
                if bounds:
                    msg, allowed = f"{msg}; allowed range {bounds}", bounds
            out.append(_item(FieldError(f.field, msg, allowed), loc, e.get("type", "value_error")))
    return out


def _item(err: FieldError, loc: list[Any] | None = None, kind: str = "value_error") -> dict[str, Any]:
    """One detail item of a 422 (the shape of ErrorItem)."""
    field = err.field or "body"
    item = {"loc": loc if loc is not None else field.split("."), "field": field, "msg": err.message, "type": kind}
    if err.allowed is not None:
        item["allowed"] = err.allowed
    return item


def unprocessable(items: list[dict[str, Any]]) -> JSONResponse:
    message = "; ".join(f"{i['field']}: {i['msg']}" for i in items)
    return JSONResponse({"detail": items, "message": message}, status_code=422)


def field_errors_response(errors: Iterable[FieldError], source: str | None = None, **extra: Any) -> JSONResponse:
    """A 422 listing typed field errors (services' InvalidInput, importers' InvalidField); `source` ('body',
    'query') starts each item's loc when known, `extra` keys are added to every item."""
    return unprocessable([_item(e, [source, *(e.field or "body").split(".")] if source else None) | extra
                          for e in errors])


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return unprocessable(describe(request, list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # the framework's own errors (a body that is no JSON, an upload over the limit, an unknown path) in the
        # shape of ErrorBody like every other error: the schema documents `field` on each
        field = "body" if exc.status_code == 400 else None
        return JSONResponse({"detail": str(exc.detail), "field": field}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        if isinstance(exc, InvalidInput):
            return field_errors_response(exc.errors)
        return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=exc.status)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_away(request: Request, exc: Exception) -> JSONResponse:
        # the database is restarting or unreachable: nothing was written, the client may retry (the pool
        # reconnects by itself once it is back)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        return JSONResponse({"detail": f"the database is unavailable, try again: {reason}", "field": None},
                            status_code=503, headers={"Retry-After": "5"})


class ErrorItem(BaseModel):
    """One bad input of a 422."""

    loc: list[str | int] = Field(description="where pydantic found it: source ('body', 'query'...) and path")
    field: str = Field(description="the input's dotted name ('recipe.epochs'); 'body' for the whole body")
    msg: str
    type: str
    allowed: str | None = Field(None, description="the allowed range or values, when known")
    record: str | None = Field(None, description="imports: the bad record's label")
    record_field: str | None = Field(None, description="imports: the key at fault in that record")


class Unprocessable(BaseModel):
    """422: every bad input with its field, and all of them in one line (`message`)."""

    detail: list[ErrorItem]
    message: str


class ErrorBody(BaseModel):
    """Any other error: what is wrong and, where one input is at fault, its field."""

    detail: str
    field: str | None


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "model": ErrorBody}


# Documented on every /api operation, so clients (and the schema fuzz test) know every error status the API uses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("the body could not be parsed (not JSON / not multipart), or the Host header does not name this "
                "server (NETSPACE_ALLOWED_HOSTS)"),
    401: _error("a token is set and this request lacks it (Authorization: Bearer <token>)"),
    403: _error("a write from another site (its Origin is not this server nor in NETSPACE_CORS_ORIGINS)"),
    404: _error("no such study, model, job, space or figure"),
    409: _error("conflict with the current state (a taken name, a job that cannot change so)"),
    413: _error("the request body is larger than NETSPACE_MAX_UPLOAD_MB"),
    422: {"description": "bad input: every field at fault, with the allowed range where there is one",
          "model": Unprocessable},
    503: _error("the database is unavailable (restarting or unreachable); retry after the Retry-After seconds"),
}

"""Error responses: every 422 names the field and, for out-of-range values, the allowed range.

Body: {"detail": [{"loc": [...], "field": "n", "msg": "...", "type": "..."}], "message": "n: ..."}; 404 and
409: {"detail": "...", "field": "..."}.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError

from backend.services.errors import InvalidInput, ServiceError

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
    lo = hi = None
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
    """The constraints declared on the field at `loc`, found from the matched route's models."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or len(loc) < 2:
        return None
    source, names = loc[0], [x for x in loc[1:] if isinstance(x, str)]
    fields = {"query": dependant.query_params, "path": dependant.path_params, "body": dependant.body_params}
    for f in fields.get(source, []):
        info = f.field_info
        model = _unwrap(info.annotation)
        if isinstance(model, type) and issubclass(model, BaseModel) and (source != "body" or f.name != names[0]):
            path = names
        elif f.name == names[0] or getattr(f, "alias", None) == names[0]:
            if len(names) == 1:
                return list(info.metadata)
            path = names[1:]
        else:
            continue
        found = _walk(model, path)
        if found is not None:
            return found
    return None


def _walk(model: Any, path: list[str]) -> list[Any] | None:
    for i, name in enumerate(path):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or name not in model.model_fields:
            return None
        info = model.model_fields[name]
        if i == len(path) - 1:
            return list(info.metadata)
        model = _unwrap(info.annotation)
    return None


def _field_name(loc: list[Any]) -> str:
    """'recipe.epochs' from ['body', 'recipe', 'epochs']; a repeated query parameter is named without its index."""
    query = bool(loc) and loc[0] == "query"
    return ".".join(str(x) for x in loc if x not in SOURCES and not (query and isinstance(x, int)))


def _join(field: str, head: str) -> str:
    if not field:
        return head
    parts, more = field.split("."), head.split(".")
    if parts[-1] == more[0]:
        more = more[1:]
    return ".".join(parts + more)


def describe(request: Request, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        loc = list(e.get("loc", ()))
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        field = _field_name(loc)
        head, sep, rest = msg.partition(": ")
        if sep and head and " " not in head:
            # our validators name the field they check ('flops_max: must be >= flops_min ...'), relative to
            # the location pydantic reports, sometimes repeating its last part ('params' + 'params.wm')
            field = _join(field, head)
            msg = rest
        value = e.get("input")
        if isinstance(value, float) and not math.isfinite(value):
            # NaN fails every comparison, so pydantic would say "should be <= 100" about it: say what is wrong
            msg = f"must be a finite number (got {value})"
        if e.get("type") in RANGE_ERRORS:
            bounds = _bounds(_field_metadata(request, loc) or [])
            if bounds:
                msg = f"{msg}; allowed range {bounds}"
        out.append({"loc": loc, "field": field or "body", "msg": msg, "type": e.get("type", "value_error")})
    return out


def unprocessable(items: list[dict[str, Any]]) -> JSONResponse:
    message = "; ".join(f"{i['field']}: {i['msg']}" for i in items)
    return JSONResponse({"detail": items, "message": message}, status_code=422)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return unprocessable(describe(request, list(exc.errors())))

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        if isinstance(exc, InvalidInput):
            field = exc.field or "body"
            return unprocessable([{"loc": field.split("."), "field": field, "msg": exc.message,
                                   "type": "value_error"}])
        return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=exc.status)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_away(request: Request, exc: Exception) -> JSONResponse:
        # the database is restarting or unreachable: nothing was written, the client may retry (the pool
        # reconnects by itself once it is back)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        return JSONResponse({"detail": f"the database is unavailable, try again: {reason}", "field": None},
                            status_code=503, headers={"Retry-After": "5"})


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}, "field": {"type": ["string", "null"]}}}}}}


# Documented on every /api operation, so clients (and the schema fuzz test) know every error status the API uses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("the body could not be parsed (not JSON / not multipart), or the Host header does not name this "
                "server (NETSPACE_ALLOWED_HOSTS)"),
    401: _error("a token is set and this request lacks it (Authorization: Bearer <token>)"),
    403: _error("a write from another site (its Origin is not this server nor in NETSPACE_CORS_ORIGINS)"),
    404: _error("no such study, model, job, space or figure"),
    409: _error("conflict with the current state (a taken name, a job that cannot change so)"),
    413: _error("the request body is larger than NETSPACE_MAX_UPLOAD_MB"),
    503: _error("the database is unavailable (restarting or unreachable); retry after the Retry-After seconds"),
}

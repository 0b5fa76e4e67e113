"""Query models parsed once per distinct query string.

The dashboard asks for the same few URLs over and over (a figure, the first page of models), and FastAPI parses a
query model field by field on every request: for FigureOptions and ModelQuery, about 75 fields each, that was
37 % of the server's CPU on a cached request (py-spy, dashboard soak). The outcome of that parse depends on the raw
query string alone, so `QueryModel(M)` is a dependency that keeps the parsed model per query string (LRU) and
gives routes the same value, the same 422s (loc `["query", ...]`) and, through `openapi_extra=QueryModel.openapi`,
the same documented parameters as `Annotated[M, Query()]`. Routes treat the model as read-only: one instance
serves every request with that query string.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import QueryParams

M = TypeVar("M", bound=BaseModel)
CACHED_QUERIES = 1024  # distinct query strings kept per query model


def _is_list(annotation: Any) -> bool:
    """A field that takes repeated parameters (`status=a&status=b`), as FastAPI reads them."""
    if get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_is_list(a) for a in get_args(annotation) if a is not type(None))


class QueryModel(Generic[M]):
    """`q: Annotated[M, Depends(QueryModel(M))]` parses M from the query string, once per distinct string."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.lists = frozenset(n for n, f in model.model_fields.items() if _is_list(f.annotation))
        self._parse = lru_cache(maxsize=CACHED_QUERIES)(self._validate)

    async def __call__(self, request: Request) -> M:
        return self._parse(request.scope.get("query_string", b""))

    def _validate(self, raw: bytes) -> M:
        params = QueryParams(raw)
        data: dict[str, Any] = {}
        for key in params:  # repeated keys: a list for list fields (all values) and for unknown keys (named
            values = params.getlist(key)  # by extra="forbid"), the single value otherwise (the last, as FastAPI)
            data[key] = values if key in self.lists or (len(values) > 1 and key not in self.model.model_fields) \
                else values[-1]
        try:
            return self.model.model_validate(data)
        except ValidationError as e:
            raise RequestValidationError([{**err, "loc": ("query", *err["loc"])}
                                          for err in e.errors(include_url=False)]) from None

    @property
    def openapi(self) -> dict[str, Any]:
        """The operation's `parameters` for the model's fields, as FastAPI documents `Annotated[M, Query()]`."""
        return {"parameters": _documented_parameters(self.model)}


@lru_cache
def _documented_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    def probe_route(q: Any) -> None:
        """Only here to let FastAPI document the model's query parameters."""

    # set here, not written as an annotation: this module's annotations are strings (from __future__), and
    # FastAPI could not resolve a local name in one
    probe_route.__annotations__ = {"q": Annotated[model, Query()], "return": None}
    probe = FastAPI()
    probe.get("/probe")(probe_route)
    params: list[dict[str, Any]] = probe.openapi()["paths"]["/probe"]["get"]["parameters"]
    return params

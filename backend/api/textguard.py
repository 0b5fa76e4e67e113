"""Refuse NUL characters in query parameters, the path and JSON bodies with a 422 naming the field.

PostgreSQL stores no NUL character: text columns and jsonb refuse it ("invalid byte sequence", "unsupported
Unicode escape sequence"), which was a 500 (a note, a filter value, a worker id), while SQLite stored it. No
field of this API has a use for one, so it is refused here once, before any route reads the request, on both
databases alike: a query parameter or the path holding %00, a JSON body holding \\u0000 in any key or string
(the body is read whole: BodyLimit, outside this middleware, bounds it). Imported files are checked per record
by the importers (backend/importers/records.check_record).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from backend.fielderrors import FieldError

from .asgi import HttpMiddleware
from .errors import field_errors_response

MESSAGE = "must not contain NUL characters (\\u0000): PostgreSQL cannot store them"


class NulGuard(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        field, source = _in_url(scope)
        if field is None and _is_json(scope):
            body, receive = await _read_body(receive)
            if b"\\u0000" in body or b"\x00" in body:
                field, source = _in_json(body), "body"
        if field is not None:
            response = field_errors_response([FieldError(field or source, MESSAGE)], source)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _in_url(scope: Scope) -> tuple[str | None, str]:
    if "\x00" in scope.get("path", ""):
        return "path", "path"
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" in query or "\x00" in query:
        for key, value in parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="replace"):
            if "\x00" in key or "\x00" in value:
                return key.replace("\x00", "") or "query", "query"
    return None, ""


def _is_json(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    return scope.get("method") in ("POST", "PUT", "PATCH") and b"json" in headers.get(b"content-type", b"")


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a receive that hands it to the app again as one message."""
    parts, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", _replay(message)
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(parts)
    return body, _replay({"type": "http.request", "body": body, "more_body": False})


def _replay(first: Message) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return {"type": "http.disconnect"}

    return receive


def _in_json(body: bytes) -> str | None:
    """The dotted path of the first key or string holding a NUL ('' for the whole body), or None when there is
    none (a literal backslash-u0000 in a string) or the body is no JSON (the route answers that)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return _find(data, "")


def _find(v: Any, path: str) -> str | None:
    if isinstance(v, str):
        return path if "\x00" in v else None
    items: Any = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
    for k, x in items:
        here = f"{path}.{k}" if path else str(k)
        if isinstance(k, str) and "\x00" in k:
            return path or "body"
        found = _find(x, here)
        if found is not None:
            return found
    return None

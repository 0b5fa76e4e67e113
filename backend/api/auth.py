"""Bearer-token checks as pure ASGI middleware, so no route can forget them and streams are untouched.

With a write token set, every non-GET request under /api needs `Authorization: Bearer <token>`. With a read
token set, GETs under /api (except /api/health) need the read or the write token. Browsers cannot put headers
on EventSource or download links, so reads also accept a `token` query parameter (writes never do: a link must
not be able to change anything); it is removed from the query string before routing, so endpoints (whose query
models forbid unknown parameters) never see it.
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
OPEN_PATHS = {"/api/health"}


def _same(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


class TokenAuth:
    def __init__(self, app: ASGIApp, token: str | None, read_token: str | None) -> None:
        self.app = app
        self.token = token
        self.read_token = read_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api"):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        in_query = next((v for k, v in query if k == "token"), None)
        if in_query is not None:
            scope = {**scope, "query_string": urlencode([(k, v) for k, v in query if k != "token"]).encode()}
        given = in_query if scope["method"] in READ_METHODS else None  # a link must never be able to write
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, cred = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    given = cred.strip()
        if not self._allowed(scope["method"], scope["path"], given):
            await _deny(send, "write" if scope["method"] not in READ_METHODS else "read")
            return
        await self.app(scope, receive, send)

    def _allowed(self, method: str, path: str, given: str | None) -> bool:
        if method not in READ_METHODS:
            return self.token is None or _same(given, self.token)
        if self.read_token is None or path in OPEN_PATHS or method == "OPTIONS":
            return True
        return _same(given, self.read_token) or (self.token is not None and _same(given, self.token))


async def _deny(send: Send, kind: str) -> None:
    body = json.dumps({"detail": f"this {kind} needs 'Authorization: Bearer <token>' with a valid token",
                       "field": "authorization"}).encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b"Bearer")]})
    await send({"type": "http.response.body", "body": body})

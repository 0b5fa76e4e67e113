"""Bearer-token checks as pure ASGI middleware, so no route can forget them and streams are untouched.

With a write token set, every non-GET request under /api needs `Authorization: Bearer <token>`. With a read
token set, GETs under /api (except /api/health) need the read or the write token. Browsers cannot put headers
on EventSource or download links, so reads also accept a `token` query parameter (writes never do: a link must
not be able to change anything); it is removed from the query string before routing, so endpoints (whose query
models forbid unknown parameters) never see it. The dashboard's event stream uses a short-lived `ticket` instead
(backend/api/tickets.py), issued by `POST /api/events/ticket` to whoever may read and accepted on the stream only,
so the token itself never travels in a URL (which the access log would record).
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi import HttpMiddleware
from .tickets import StreamTickets

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
OPEN_PATHS = {"/api/health"}
STREAM_PATH = "/api/events"
TICKET_PATH = "/api/events/ticket"  # a POST that the read token may make too
CREDENTIAL_PARAMS = ("token", "ticket")


def _same(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


class TokenAuth(HttpMiddleware):
    def __init__(self, app: ASGIApp, token: str | None, read_token: str | None,
                 tickets: StreamTickets | None = None) -> None:
        super().__init__(app)
        self.token = token
        self.read_token = read_token
        self.tickets = tickets

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not scope["path"].startswith("/api"):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        found = {k: v for k, v in query if k in CREDENTIAL_PARAMS}
        if found:
            scope = {**scope, "query_string": urlencode([(k, v) for k, v in query
                                                         if k not in CREDENTIAL_PARAMS]).encode()}
        given = found.get("token") if scope["method"] in READ_METHODS else None  # a link must never write
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, cred = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    given = cred.strip()
        ticketed = (scope["method"] == "GET" and scope["path"] == STREAM_PATH and self.tickets is not None
                    and self.tickets.valid(found.get("ticket")))
        if not ticketed and not self._allowed(scope["method"], scope["path"], given):
            await _deny(send, "write" if scope["method"] not in READ_METHODS else "read")
            return
        await self.app(scope, receive, send)

    def _allowed(self, method: str, path: str, given: str | None) -> bool:
        if method == "POST" and path == TICKET_PATH and self.read_token is not None and self._may_read(given):
            return True  # the read token may ask for a ticket; otherwise it is a write like any other
        if method not in READ_METHODS:
            return self.token is None or _same(given, self.token)
        return path in OPEN_PATHS or method == "OPTIONS" or self._may_read(given)

    def _may_read(self, given: str | None) -> bool:
        if self.read_token is None:
            return True
        return _same(given, self.read_token) or (self.token is not None and _same(given, self.token))


async def _deny(send: Send, kind: str) -> None:
    body = json.dumps({"detail": f"this {kind} needs 'Authorization: Bearer <token>' with a valid token",
                       "field": "authorization"}).encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b"Bearer")]})
    await send({"type": "http.response.body", "body": body})

"""Cross-site writes and DNS rebinding, refused even when no token is set (pure ASGI middleware).

Without a token anyone who can reach the port may write — that is the point of a local tool — but a web page
the user happens to visit must not: a form or `fetch(..., {mode: "no-cors"})` from `http://evil.example` can
POST to `http://127.0.0.1:8000/api/jobs/3/cancel` (a "simple" request needs no CORS preflight), and a page
whose name the attacker re-points at 127.0.0.1 (DNS rebinding) is even same-origin with the API.

- Host: every request must name this server — a loopback name, an IP literal (rebinding needs a DNS name the
  attacker controls), the name the server was bound to, or one of NETSPACE_ALLOWED_HOSTS (`*` turns the check
  off). Anything else is 400.
- Writes (every method but GET/HEAD/OPTIONS): a browser sends `Origin` on every such request, cross-site or not;
  it must be this server (its host[:port] is the request's Host, or its name is an allowed host) or one of
  NETSPACE_CORS_ORIGINS. Without `Origin`, `Sec-Fetch-Site` (sent by current browsers) must not say
  cross-site. Clients that are not browsers (curl, the CLI, workers' tools) send neither and pass. A request
  carrying the valid write token passes too: a page that holds the token is not forging anything.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi import HttpMiddleware

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
SAME_SITE_FETCH = {"same-origin", "none"}


def host_name(host: str) -> str | None:
    """The name part of a Host header or an origin's netloc ("[::1]:8000" -> "::1"), lower-cased; None when it
    does not parse."""
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:
        return None
    return name.rstrip(".").lower() if name else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _netloc(origin: str) -> str | None:
    """host[:port] of an origin with the scheme's default port dropped, lower-cased ("null" -> None)."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    name = parts.netloc.rsplit("@", 1)[-1].lower()
    if port is not None and port == {"http": 80, "https": 443}[parts.scheme]:
        name = name.rsplit(":", 1)[0]
    return name


class SiteGuard(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, allowed_hosts: tuple[str, ...] = (), bind_host: str | None = None,
                 cors_origins: tuple[str, ...] = (), token: str | None = None) -> None:
        super().__init__(app)
        self.any_host = "*" in allowed_hosts
        self.named = {n for h in allowed_hosts if h != "*" and (n := host_name(h))}
        if bind_host and (n := host_name(bind_host)):
            self.named.add(n)
        self.cors_origins = {o.rstrip("/").lower() for o in cors_origins}
        self.token = token

    def host_allowed(self, host: str) -> bool:
        name = host_name(host)
        if name is None:
            return False
        return (self.any_host or name in LOOPBACK_NAMES or name.endswith(".localhost") or _is_ip(name)
                or name in self.named)

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        if origin.rstrip("/").lower() in self.cors_origins:
            return True
        netloc = _netloc(origin)
        if netloc is None:
            return False
        if host is not None and netloc in (_netloc(f"http://{host}"), _netloc(f"https://{host}")):
            return True
        return host_name(netloc) in self.named

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k: v.decode("latin-1") for k, v in scope.get("headers", []) if k in _WANTED}
        host = headers.get(b"host")
        if host is not None and not self.host_allowed(host):
            await _refuse(send, 400, "host", f"{host_name(host) or host!r} is not a name of this server; add it to "
                          "NETSPACE_ALLOWED_HOSTS (comma-separated) to serve it under that name")
            return
        if scope["method"] not in READ_METHODS and not self._has_token(headers.get(b"authorization")):
            origin = headers.get(b"origin")
            if origin is not None and not self.origin_allowed(origin, host):
                await _refuse(send, 403, "origin", f"a write from {origin!r} (another site) is refused; allow a "
                              "dashboard served elsewhere with NETSPACE_CORS_ORIGINS")
                return
            fetch_site = headers.get(b"sec-fetch-site")
            if origin is None and fetch_site is not None and fetch_site not in SAME_SITE_FETCH:
                await _refuse(send, 403, "origin", f"a write from another site (Sec-Fetch-Site: {fetch_site}) is "
                              "refused")
                return
        await self.app(scope, receive, send)

    def _has_token(self, authorization: str | None) -> bool:
        if self.token is None or authorization is None:
            return False
        scheme, _, cred = authorization.partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(cred.strip().encode(), self.token.encode())


_WANTED = {b"host", b"origin", b"sec-fetch-site", b"authorization"}


async def _refuse(send: Send, status: int, field: str, message: str) -> None:
    body = json.dumps({"detail": f"{field}: {message}", "field": field}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

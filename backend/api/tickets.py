"""Event-stream tickets, and an access-log filter that keeps credentials in URLs out of the log.

`EventSource` cannot send an Authorization header, so the dashboard's stream used to carry the token itself as
`?token=` — and uvicorn's access log wrote every such URL, token included, to the server's output (issue 18,
item 6). Instead the dashboard asks `POST /api/events/ticket` (with its Authorization header) for a ticket and
opens `/api/events?ticket=...`: a ticket is an expiry time signed with a key derived from the configured tokens,
good for opening the event stream (reads only) during TICKET_SECONDS, so a leaked one is worth little and soon
nothing. Signed rather than stored, so any server process configured with the same tokens accepts it.

Belt and braces: `RedactCredentials` rewrites `token=` and `ticket=` query values to `***` in uvicorn's access-log
records, for clients that still put the token in the URL (`?token=` still works for reads and download links).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time

TICKET_SECONDS = 60
ACCESS_LOGGER = "uvicorn.access"
_SECRET_QUERY = re.compile(r"([?&](?:token|ticket)=)[^&#\s]*", re.IGNORECASE)


class StreamTickets:
    """Issue and check event-stream tickets: "<expiry unix seconds>.<hmac-sha256 of it, hex>"."""

    def __init__(self, token: str | None, read_token: str | None, seconds: int = TICKET_SECONDS) -> None:
        material = "\0".join(("netspace event-stream ticket", token or "", read_token or ""))
        self._key = hashlib.sha256(material.encode()).digest()
        self.seconds = seconds

    def _sign(self, expiry: int) -> str:
        return hmac.new(self._key, f"events:{expiry}".encode(), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        expiry = int(time.time()) + self.seconds
        return f"{expiry}.{self._sign(expiry)}"

    def valid(self, ticket: str | None) -> bool:
        expiry, _, mac = (ticket or "").partition(".")
        if not expiry.isdigit() or len(expiry) > 12 or int(expiry) < time.time():
            return False
        return hmac.compare_digest(mac.encode(), self._sign(int(expiry)).encode())


def redact(text: str) -> str:
    """`text` with the values of token= and ticket= query parameters replaced by ***."""
    return _SECRET_QUERY.sub(r"\1***", text)


class RedactCredentials(logging.Filter):
    """Rewrites uvicorn's access-log record (args: client, method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_log_filter() -> None:
    """Add the filter to uvicorn's access logger once (create_app may run several times in one process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactCredentials) for f in logger.filters):
        logger.addFilter(RedactCredentials())

"""Server-Timing on every response: the server's own time for a request, apart from the network and the client.

Browsers show it in their developer tools (Network → Timing), and the dashboard soak benchmark reads it to
split a slow response into time in this server and time queued outside it (in its own client, on a shared
machine). The clock runs from the moment the app gets the request until the response's headers leave it.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from .asgi import HttpMiddleware


class ServerTiming(HttpMiddleware):
    """One perf_counter pair and one header per request."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={(time.perf_counter() - start) * 1000:.1f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)

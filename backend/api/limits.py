"""Refuse oversized request bodies (413) before anything parses them.

Starlette spools a multipart upload to disk before the route runs, so a limit checked only in the route would
still let a client fill the disk. This pure ASGI middleware answers 413 from the declared Content-Length and,
for chunked bodies without one, answers 413 once the limit is passed and tells the app the client went away
(the upload route also counts bytes itself). Limit: NETSPACE_MAX_UPLOAD_MB.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .asgi import HttpMiddleware


class BodyLimit(HttpMiddleware):
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await too_large(send, self.max_bytes)
            return
        seen = 0
        started = answered = False

        async def counting_receive() -> Message:
            # past the limit: answer 413 ourselves and tell the app the client left (an exception here would be
            # turned into a 400 "error parsing the body" by the framework)
            nonlocal seen, answered
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    if not started and not answered:
                        answered = True
                        await too_large(send, self.max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 is the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, tracking_send)


async def too_large(send: Send, max_bytes: int) -> None:
    body = json.dumps({"detail": f"request body larger than {max_bytes >> 20} MiB (NETSPACE_MAX_UPLOAD_MB)",
                       "field": "body"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

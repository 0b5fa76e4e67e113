"""GET /api/events: server-sent events from the events table.

Each message is the default SSE type ("message"), `id:` = the event id, `data:` = JSON {id, kind, study_id,
job_id, model_id, payload, created_at} (kinds in db/events.py). The table is polled every ~0.5 s, so changes
committed by worker processes anywhere appear. A reconnecting EventSource sends Last-Event-ID and gets what
it missed; a new stream starts at the newest event unless `last_id` is given. Keep-alive pings every 15 s.

POST /api/events/ticket: a short-lived ticket to open the stream with (`?ticket=`), for browsers whose
EventSource cannot send the Authorization header (backend/api/tickets.py); it replaces `?token=` in the URL.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from backend.services.ids import MAX_ID, EventCursor, RowId
from db.events import events_after, last_event_id

from .. import deps
from ..settings import Settings

router = APIRouter(tags=["events"])
BATCH = 500


class StreamTicket(BaseModel):
    """A ticket for `GET /api/events?ticket=...`, valid for opening the stream until it expires."""

    ticket: str = Field(description="pass as the `ticket` query parameter of /api/events")
    expires_in: int = Field(description="seconds the ticket can still open a stream (an open stream stays open)")


@router.post("/api/events/ticket", response_model=StreamTicket)
def stream_ticket(request: Request) -> StreamTicket:
    """A ticket that opens the event stream, so the token itself never travels in a URL (and the access log)."""
    tickets = request.app.state.tickets
    return StreamTicket(ticket=tickets.issue(), expires_in=tickets.seconds)


@router.get("/api/events", response_class=EventSourceResponse, responses={200: {
    "description": "server-sent events; each `data:` is one Event (JSON)",
    "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def stream_events(request: Request, study_id: RowId | None = Query(None),
                        last_id: EventCursor | None = Query(None, description="start after this event id"),
                        last_event_id_header: str | None = Header(None, alias="Last-Event-ID"),
                        engine: Engine = Depends(deps.engine),
                        settings: Settings = Depends(deps.settings)) -> EventSourceResponse:
    start = last_id
    header = (last_event_id_header or "").strip()
    if header.isdigit() and int(header) <= MAX_ID:  # anything else cannot be one of our ids: ignored
        start = int(header)
    if start is None:
        start = await run_in_threadpool(_newest, engine)

    def fetch(after: int) -> list[dict]:
        with engine.connect() as conn:
            return events_after(conn, after, BATCH, study_id)

    async def generate():
        after = start
        while not await request.is_disconnected():
            rows = await run_in_threadpool(fetch, after)
            for ev in rows:
                yield {"id": str(ev["id"]), "data": json.dumps(ev, separators=(",", ":"))}
            if rows:
                after = rows[-1]["id"]
            if len(rows) < BATCH:
                await asyncio.sleep(settings.events_poll_seconds)

    return EventSourceResponse(generate(), ping=15, headers={"Cache-Control": "no-cache"})


def _newest(engine: Engine) -> int:
    with engine.connect() as conn:
        return last_event_id(conn)

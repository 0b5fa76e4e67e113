"""Thread lanes: the few threads that answer what a watched dashboard repeats, apart from everything else.

A cached figure's look-up, a page of models and /api/health each hold a thread for a millisecond or two (one
version query, then cached bytes). On the shared threadpool (40 threads) 50 readers kept ~40 threads wanting the
GIL at once, and a thread coming back from the database waited its turn behind all of them: no order, so a few
requests waited far longer than the rest. Through a lane of CHEAP_READ_THREADS they queue first-come,
first-served on the lane's limiter and only that many contend for the GIL. Exports, imports and every other
sync route keep the shared threadpool (a long export never holds a lane thread); figure builds have their own
(routes/figures.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import Request

T = TypeVar("T")
#: threads of the cheap-read lane: each request holds one ~1-2 ms, so a few keep 2 cores busy
CHEAP_READ_THREADS = 8


async def cheap_read(request: Request, fn: Callable[..., T], *args: object) -> T:
    """fn(*args) on a thread of the app's cheap-read lane (its limiter made in the app's event loop on first use)."""
    state = request.app.state
    if getattr(state, "cheap_reads", None) is None:
        state.cheap_reads = anyio.CapacityLimiter(CHEAP_READ_THREADS)
    return await anyio.to_thread.run_sync(fn, *args, limiter=state.cheap_reads)

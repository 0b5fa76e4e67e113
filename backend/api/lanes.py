"""Thread lanes: the few threads that answer what a watched dashboard repeats, apart from everything else.

A cached figure's look-up, a page of models and /api/health each hold a thread for a millisecond or two (one
version query, then cached bytes). On the shared threadpool (40 threads) 50 readers kept ~40 threads wanting the
GIL at once, and a thread coming back from the database waited its turn behind all of them: no order, so a few
requests waited far longer than the rest. Through a lane of CHEAP_READ_THREADS they queue first-come,
first-served on the lane's limiter and only that many contend for the GIL. How many: one per core. Measured
with 50 readers on 2 cores (20 s at rest, SQLite, one build): 1 thread p99 117 ms, 2 threads 94 ms, 4 threads
138 ms, 8 threads 220-233 ms (p50 58 / 52 / 72 / 68 ms). A thread beyond the cores only adds a contender for the
GIL; the losers of that contest made the tail, and the hand-offs cost CPU (1.1 ms a request with 2 threads, 1.5
with 8). Exports, imports and every other
sync route keep the shared threadpool (a long export never holds a lane thread); figure builds have their own
(routes/figures.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import Request

from backend.forkpool import default_workers

T = TypeVar("T")
#: threads of the cheap-read lane: one per core this process may run on (each request holds one ~1 ms)
CHEAP_READ_THREADS = min(8, default_workers())


async def cheap_read(request: Request, fn: Callable[..., T], *args: object) -> T:
    """fn(*args) on a thread of the app's cheap-read lane (its limiter made in the app's event loop on first use)."""
    state = request.app.state
    if getattr(state, "cheap_reads", None) is None:
        state.cheap_reads = anyio.CapacityLimiter(CHEAP_READ_THREADS)
    return await anyio.to_thread.run_sync(fn, *args, limiter=state.cheap_reads)

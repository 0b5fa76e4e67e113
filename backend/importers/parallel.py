"""Convert a plan's records in worker processes, chunk by chunk in file order, while the caller writes.

Converting a record (validating its config, flattening it, hashing it, encoding its rows) is pure Python,
about 100 µs per record; on a 100,000-record file that is most of an import. Records convert independently,
so a pool of worker processes converts chunks of the file side by side while the caller (the importing
service) writes the chunks already done.

The workers are forked: they inherit the plan, with the file's records already in memory, instead of having
it pickled to them, and they send back per chunk only what the caller's `encode` makes of its records (the
rows to insert) plus the thin records `Plan.finish` reads (pickling whole records costs about as much as
converting them). Where fork is unavailable, or with fewer than two workers, the chunks convert here, in
order, through the same code.

A forked worker starts as a copy of the server, so it is made to forget the server before it converts anything
(backend.forkpool).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from backend.forkpool import can_fork, forked_pool

from .records import BadRecord, ModelRecord, Plan, convert_items

Encode = Callable[[list[ModelRecord]], Any]


@dataclass(slots=True)
class Chunk:
    """One converted slice of `plan.items`: where it starts, its thin records, what it skipped, its rows."""

    start: int
    records: list[ModelRecord]
    skipped: list[BadRecord]
    encoded: Any


_job: tuple[Plan, bool, Encode] | None = None  # the worker's plan, inherited through fork


def _start_worker(job: tuple[Plan, bool, Encode]) -> None:
    global _job
    _job = job
    gc.disable()  # see records.gc_paused: the worker only builds acyclic rows, then exits


def _convert(job: tuple[Plan, bool, Encode], bounds: tuple[int, int]) -> Chunk:
    plan, skip_bad, encode = job
    a, b = bounds
    records, skipped = convert_items(plan.items[a:b], plan.convert, skip_bad, start=a)
    return Chunk(a, [r.thin(plan.finish_reads) for r in records], skipped, encode(records))


def _convert_in_worker(bounds: tuple[int, int]) -> Chunk:
    assert _job is not None, "worker started without a job"
    return _convert(_job, bounds)


def convert_chunks(plan: Plan, skip_bad: bool, encode: Encode, *, workers: int,
                   chunk_records: int) -> Iterator[Chunk]:
    """The plan's records in chunks of `chunk_records`, in file order, converted by `workers` processes.

    Chunk records are numbered by their position in the file (`start + i`); a writer renumbers them when
    earlier chunks skipped records. Repeated config hashes are left to the writer, who sees every chunk in
    order. A bad record (without `skip_bad`) raises its RecordError here, as the chunk holding it comes up;
    the chunks not yet started are then cancelled.
    """
    n = len(plan.items)
    bounds = [(a, min(a + chunk_records, n)) for a in range(0, n, chunk_records)]
    job = (plan, skip_bad, encode)
    if workers < 2 or len(bounds) < 2 or not can_fork():
        for b in bounds:
            yield _convert(job, b)
        return
    pool = forked_pool(min(workers, len(bounds)), _start_worker, (job,))
    try:
        futures = [pool.submit(_convert_in_worker, b) for b in bounds]
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

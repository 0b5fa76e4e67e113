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
(`_detach`): it dies with its parent (Linux PR_SET_PDEATHSIG, plus a watch on its parent's pid elsewhere),
takes SIGTERM/SIGINT the default way (uvicorn's handlers would only set a flag in a server loop the copy does
not run), and lets go of every inherited socket — the server's listening socket, its clients' connections and
its PostgreSQL connections — by pointing those descriptors at /dev/null. Without that, a server killed with -9
during an import (the OOM killer does this) left its converters alive, holding the port (a restart failed with
"address already in use") and the database connection of the import's open transaction, whose lock on the
study's name then blocked a second import of that name forever. Pipes and files stay: the pool talks to its
workers through pipes, and the copy's stale socket objects can at worst close a /dev/null descriptor.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from .records import BadRecord, ModelRecord, Plan, convert_items

Encode = Callable[[list[ModelRecord]], Any]


@dataclass(slots=True)
class Chunk:
    """One converted slice of `plan.items`: where it starts, its thin records, what it skipped, its rows."""

    start: int
    records: list[ModelRecord]
    skipped: list[BadRecord]
    encoded: Any


def default_workers() -> int:
    """Worker processes for a large import: one per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


_job: tuple[Plan, bool, Encode] | None = None  # the worker's plan, inherited through fork
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_S = 1.0


def _die_with_parent(parent: int) -> None:
    """Be killed when the parent dies: the kernel's parent-death signal where there is one (Linux), and in
    any case a thread that exits the process once the parent's pid is no longer our parent. The signal is
    armed after the fork, so a parent that died in between is caught by the first look at getppid()."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no prctl in this libc: the watch below still works
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _drop_inherited_sockets() -> int:
    """Point every inherited socket descriptor at /dev/null (see the module docstring); return how many."""
    null = os.open(os.devnull, os.O_RDWR)
    dropped = 0
    try:
        for fd in map(int, os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else range(3, 1024)):
            try:
                if fd != null and stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(null, fd, inheritable=False)
                    dropped += 1
            except OSError:  # not open (or closed while listing)
                continue
    finally:
        os.close(null)
    return dropped


def _detach(parent: int) -> None:
    """A forked worker forgets the server it was copied from: see the module docstring."""
    _die_with_parent(parent)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    _drop_inherited_sockets()


def _start_worker(job: tuple[Plan, bool, Encode], parent: int) -> None:
    global _job
    _detach(parent)
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
    pool = ProcessPoolExecutor(min(workers, len(bounds)), mp_context=multiprocessing.get_context("fork"),
                               initializer=_start_worker, initargs=(job, os.getpid()))
    try:
        futures = [pool.submit(_convert_in_worker, b) for b in bounds]
        for future in futures:
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

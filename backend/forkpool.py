"""Process pools forked from the server, whose workers forget the server they were copied from.

CPU-bound work that would hold the server's GIL (converting an import's records, fitting the width law to a
study's models) runs in forked worker processes: they inherit what they work on instead of having it pickled
to them. A forked worker starts as a copy of the server, so before it does anything it is detached
(`detach`): it dies with its parent (Linux PR_SET_PDEATHSIG, plus a watch on its parent's pid elsewhere),
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
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_S = 1.0


def default_workers() -> int:
    """One per core this process may use: the processes of a large import, an e_fit fill or the figure pool,
    the threads of the API's cheap-read lane, the CPU workers of `--workers auto`."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


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


def detach(parent: int) -> None:
    """A forked worker forgets the server it was copied from: see the module docstring."""
    _die_with_parent(parent)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    _drop_inherited_sockets()


def _start(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    detach(parent)
    if initializer is not None:
        initializer(*initargs)


def forked_pool(workers: int, initializer: Callable[..., None] | None = None,
                initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A pool of `workers` forked, detached processes (callers check can_fork() first)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_start,
                               initargs=(os.getpid(), initializer, initargs))

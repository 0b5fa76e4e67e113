"""Small in-process caches for populations that many requests of one view read at once.

The dashboard asks for the columnar population and several figures of the same (study, filter) together; each
would read 10^5 rows again. Entries are keyed by the study's own data version: its newest data event (every job
state change, result and queueing appends an event in the same transaction; see db.events.study_data_version)
and its model count (studies.n_models, kept by every writer of models), so a bulk load that appends no event
still changes the version — and a result in another study, or a training epoch, changes nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from db.events import study_version

T = TypeVar("T")


def data_version(conn: Connection, study_id: int) -> tuple[int, int, int]:
    """(newest data event id of the study, data events just before it, model count): changes whenever the
    study's population can have, and only then. One statement (db.events.study_version)."""
    return study_version(conn, study_id)


class KeyedLocks:
    """One lock per key, held only while someone holds or waits for it: a dict of locks per (engine, study) or
    per cached item would otherwise grow by one entry for every study and view ever asked for, for the life
    of the server."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.held: dict[Hashable, list[Any]] = {}  # key -> [lock, holders and waiters]

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self.guard:
            entry = self.held.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self.guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self.held[key]

    def __len__(self) -> int:
        with self.guard:
            return len(self.held)


class VersionedCache(Generic[T]):
    """A thread-safe LRU of a few entries; putting a new version of a study drops its older versions."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.items: OrderedDict[tuple, T] = OrderedDict()
        self.lock = threading.Lock()
        self.loading = KeyedLocks()  # one lock per `what`: a value is loaded once at a time

    def get(self, key: tuple) -> T | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def get_or_load(self, key: tuple, load: Callable[[], T]) -> T:
        """The cached value of `key`, else `load()` stored under it. Concurrent callers for the same `what`
        (key[0]) wait for one load instead of each reading the population again."""
        value = self.get(key)
        if value is not None:
            return value
        with self.loading.hold(key[0]):
            value = self.get(key)
            if value is None:
                value = load()
                self.put(key, value)
            return value

    def latest(self, what: Any) -> tuple[Any, T] | None:
        """(version, value) of the entry held for `what`, whatever its version — the base of an update."""
        with self.lock:
            for (w, version), value in self.items.items():
                if w == what:
                    return version, value
        return None

    def put(self, key: tuple, value: T) -> None:
        """Keys are (what, version): an entry for `what` replaces that of any other version."""
        with self.lock:
            for k in [k for k in self.items if k[0] == key[0]]:
                del self.items[k]
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)

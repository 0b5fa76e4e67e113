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
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, select

from db.events import study_data_version
from db.models import studies

T = TypeVar("T")


def data_version(conn: Connection, study_id: int) -> tuple[int, int, int]:
    """(newest data event id of the study, data events just before it, model count): changes whenever the
    study's population can have, and only then."""
    n = conn.execute(select(studies.c.n_models).where(studies.c.id == study_id)).scalar()
    return (*study_data_version(conn, study_id), int(n or 0))


class VersionedCache(Generic[T]):
    """A thread-safe LRU of a few entries; putting a new version of a study drops its older versions."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.items: OrderedDict[tuple, T] = OrderedDict()
        self.lock = threading.Lock()
        self.loading: dict[Any, threading.Lock] = {}  # one lock per `what`: a value is loaded once at a time

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
        with self.lock:
            gate = self.loading.setdefault(key[0], threading.Lock())
        with gate:
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

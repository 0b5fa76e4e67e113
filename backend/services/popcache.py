"""Small in-process caches for populations that many requests of one view read at once.

The dashboard asks for the columnar population and several figures of the same (study, filter) together; each
would read 10^5 rows again. Entries are keyed by the study's data version: the newest event id (every job state
change, result, queueing and deletion appends an event in the same transaction) and the study's model count
(studies.n_models, kept by every writer of models: db.models.add_models), so a bulk load through the db layer
that appends no event still changes the version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, select

from db.events import last_event_id
from db.models import studies

T = TypeVar("T")


def data_version(conn: Connection, study_id: int) -> tuple[int, int]:
    """(newest event id, model count of the study): changes whenever the study's population can have."""
    n = conn.execute(select(studies.c.n_models).where(studies.c.id == study_id)).scalar()
    return last_event_id(conn), int(n or 0)


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

    def put(self, key: tuple, value: T) -> None:
        """Keys are (what, version): an entry for `what` replaces that of any other version."""
        with self.lock:
            for k in [k for k in self.items if k[0] == key[0]]:
                del self.items[k]
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)

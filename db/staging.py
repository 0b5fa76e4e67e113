"""A scratch SQLite file that a large SQLite import fills while it converts, copied in at the end in one short
write transaction.

SQLite has one writer at a time. An import that converted its records inside its write transaction held the
lock through all of the parsing and converting (4.6 s per 20,000 records on the 2-core machine; a 512 MB
upload would keep every worker's claim, heartbeat and result waiting past their 60 s busy timeout). Now the
converted rows go into a private file next to the database — no lock on the database at all — and one write
transaction copies them in (`INSERT ... SELECT` through ATTACH, in SQLite's C code, no Python per row). The
import stays all or nothing: readers see the study appear whole at that commit, or not at all.

The scratch tables have the database's column names and no constraints; the models table is keyed by the
model's `index` (rowid: in file order, and `finish`'s write-backs find their rows in O(log n)); the results
table carries the model's index where the model id is not known yet. Values are already the driver's (JSON
text, timestamp strings), so they land in the database exactly as a direct insert of the same tuples would.
The file is deleted afterwards; only a process killed mid-import leaves one (a `.netspace-import-*` file).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from .engine import PAGE_BYTES, writer

ALIAS = "netspace_staging"
CACHE_KIB = 64 << 10
MODEL_KEY = "index"
RESULT_KEY = "model_index"


def _q(name: str) -> str:
    return '"{}"'.format(name.replace('"', '""'))


class Staging:
    """The scratch file of one import: `add` converted rows as they come, `copy_into` the database at the end."""

    def __init__(self, engine: Engine, model_keys: Sequence[str], result_keys: Sequence[str]) -> None:
        """`model_keys`/`result_keys`: the columns of the rows `add` gets, in order; the models' must include
        'index', the results' first key is the model id (staged as the model's index instead)."""
        database = engine.url.database
        folder = os.path.dirname(os.path.abspath(database)) if database and database != ":memory:" else None
        fd, self.path = tempfile.mkstemp(prefix=".netspace-import-", suffix=".db", dir=folder)
        os.close(fd)
        self.model_keys, self.result_keys = tuple(model_keys), (RESULT_KEY, *result_keys[1:])
        self.model_id_key = result_keys[0]
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute(f"PRAGMA page_size = {PAGE_BYTES}")  # rows of 1-3 KB, as in the database (db/engine.py)
        self.db.execute("PRAGMA journal_mode = OFF")  # a scratch file: nothing to recover after a crash
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA locking_mode = EXCLUSIVE")  # no one else opens it while it is written
        self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        model_cols = ", ".join(f"{_q(k)} INTEGER PRIMARY KEY" if k == MODEL_KEY else _q(k) for k in self.model_keys)
        result_cols = ", ".join(f"{_q(k)} INTEGER PRIMARY KEY" if k == RESULT_KEY else _q(k) for k in self.result_keys)
        self.db.execute(f"CREATE TABLE models ({model_cols})")
        self.db.execute(f"CREATE TABLE results ({result_cols})")
        self.db.execute("BEGIN")
        self._models_sql = f"INSERT INTO models VALUES ({', '.join('?' * len(self.model_keys))})"
        self._results_sql = f"INSERT INTO results VALUES ({', '.join('?' * len(self.result_keys))})"
        self._index = self.model_keys.index(MODEL_KEY)
        self.rows = 0

    def add(self, model_rows: list[tuple], result_rows: list[tuple]) -> None:
        """Stage one chunk: model rows, and their results (model id column ignored) in the same order."""
        self.db.executemany(self._models_sql, model_rows)
        self.db.executemany(self._results_sql, [(m[self._index], *r[1:])
                                                for m, r in zip(model_rows, result_rows, strict=True)])
        self.rows += len(model_rows)

    def update_models(self, column: str, values: list[tuple[object, int]]) -> None:
        """Set `column` of staged models: (value, model index) pairs."""
        self.db.executemany(f"UPDATE models SET {_q(column)} = ? WHERE {_q(MODEL_KEY)} = ?", values)

    def copy_into(self, conn: Connection, model_table: str, result_table: str, study_key: str,
                  study_id: int) -> None:
        """Copy every staged row into the database, inside `conn`'s transaction (opened by `attached`), with
        `study_key` set to `study_id` and the results joined to the new models' ids by (study, index)."""
        cols = [k for k in self.model_keys if k != study_key]
        conn.exec_driver_sql(
            f"INSERT INTO main.{_q(model_table)} ({_q(study_key)}, {', '.join(map(_q, cols))}) "
            f"SELECT ?, {', '.join(map(_q, cols))} FROM {ALIAS}.models ORDER BY {_q(MODEL_KEY)}", (study_id,))
        rest = self.result_keys[1:]
        conn.exec_driver_sql(
            f"INSERT INTO main.{_q(result_table)} ({_q(self.model_id_key)}, {', '.join(map(_q, rest))}) "
            f"SELECT m.id, {', '.join('s.' + _q(k) for k in rest)} FROM {ALIAS}.results AS s "
            f"JOIN main.{_q(model_table)} AS m ON m.{_q(study_key)} = ? AND m.{_q(MODEL_KEY)} = s.{_q(RESULT_KEY)} "
            f"ORDER BY s.{_q(RESULT_KEY)}", (study_id,))

    @contextlib.contextmanager
    def attached(self, engine: Engine) -> Iterator[Connection]:
        """A write connection to the database with the staged file attached (ATTACH cannot run inside a
        transaction, so this comes first; begin the write transaction on the connection yourself)."""
        self.db.execute("COMMIT")
        self.db.close()  # done writing: its exclusive lock goes, the database's connection may read the file
        with writer(engine).connect() as conn:
            raw: Any = conn.connection.dbapi_connection  # sqlite3's own connection (ATTACH)
            raw.execute(f"ATTACH DATABASE ? AS {ALIAS}", (self.path,))
            try:
                yield conn
            finally:
                if conn.in_transaction():
                    conn.rollback()
                raw.execute(f"DETACH DATABASE {ALIAS}")

    def close(self) -> None:
        self.db.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

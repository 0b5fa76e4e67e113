"""Engines and sessions for SQLite (embedded default) and PostgreSQL (fleets).

SQLite: WAL (readers never block the writer), foreign keys on (cascades), a long busy timeout (writers
queue instead of failing), 16 KiB pages for new databases (a model row with its JSON config, or a result
with its curves, is 1-3 KB: 4 KiB pages hold one or two, and a 100,000-record import wrote and synced
measurably more of them), and transactions we begin ourselves so that write transactions can start with
`BEGIN IMMEDIATE` — taking the write lock up front. A deferred transaction that reads and then writes can
hit SQLITE_BUSY without waiting when another writer got in between; immediate ones just wait their turn.
Read transactions stay deferred so that long exports never block workers.

PostgreSQL: `pool_pre_ping`, so workers and the server survive a database restart; json/jsonb values are decoded by
orjson (psycopg's default is the stdlib json, most of the time of a 10^5-row export; jsonb never holds NaN).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///./netspace.db"
BUSY_TIMEOUT_MS = 60_000
MMAP_BYTES = 1 << 30
PAGE_BYTES = 16 << 10  # takes effect when the database file is created; existing files keep theirs
CACHE_KIB = 32 << 10
_BEGIN_OPTION = "netspace_begin"


def database_url(url: str | None = None) -> str:
    """The URL to use: explicit, else $NETSPACE_DB, else ./netspace.db."""
    return url or os.environ.get("NETSPACE_DB") or DEFAULT_URL


def db_kind(engine_or_url: Engine | str) -> str:
    """'sqlite' or 'postgresql' (the dialect name)."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url.dialect.name
    return make_url(engine_or_url).get_dialect().name


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """An Engine for `url` (see `database_url`) with the per-backend settings described above."""
    url = database_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(u.database)) or ".", exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    if engine.dialect.driver == "psycopg":
        _configure_psycopg(engine)
    return engine


def _configure_psycopg(engine: Engine) -> None:
    from psycopg.types.json import set_json_loads

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        set_json_loads(orjson.loads, dbapi_conn)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # the driver must not BEGIN behind our back; _on_begin does
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute(f"PRAGMA page_size = {PAGE_BYTES}")  # before WAL: switching to WAL creates the file
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")  # reads of big studies come from the OS page cache
        cur.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take SQLite's write lock at BEGIN (no-op on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A Core connection in one write transaction: committed on success, rolled back on any exception."""
    with writer(engine).begin() as conn:
        yield conn


#: rows a bulk write adds before PostgreSQL's planner statistics of its tables are refreshed at once
ANALYZE_MIN_ROWS = 10_000


def refresh_statistics(engine: Engine, table_names: tuple[str, ...], rows: int) -> None:
    """ANALYZE `table_names` on PostgreSQL after a bulk write of `rows` rows (no-op below ANALYZE_MIN_ROWS, and
    on SQLite, whose planner reads its indexes without statistics).

    Autovacuum refreshes them too, but up to a minute later: meanwhile the planner takes a study of 10^5 fresh
    rows for ~10^3, and the CSV export of that study hashed its joins in 16 batches and sorted on disk (0.70 s
    of query; 0.25 s once analyzed). Table names come from db.models, never from users."""
    if engine.dialect.name != "postgresql" or rows < ANALYZE_MIN_ROWS:
        return
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE " + ", ".join(quote(t) for t in table_names))
        conn.commit()

"""Bulk inserts of rows already in the driver's terms: what an import and a restore write 10^5-10^6 rows with.

JSON columns take text we encoded ourselves (orjson: several times faster than the stdlib json the JSON type
would call for every value; PostgreSQL casts it to jsonb), every other column keeps its type. On SQLite the rows
go to the driver's executemany as the tuples they are — per-row parameter handling in Python is otherwise a
third of a 100,000-row import — so their values must already be what SQLAlchemy would bind (JSON text, the
datetime string SQLite's DateTime writes: see `sqlite_binders`). On PostgreSQL Core's batched multi-row VALUES
binds them.

Also here, for large SQLite imports: `deferred_indexes` (drop the models indexes and the results mirror trigger,
insert, recreate them from their own SQL) and `big_page_cache` (the PRAGMAs a long write wants).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import JSON, Connection, Table, Text, TypeDecorator, cast, column, func, insert, select, table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import TableClause

from .models import models


class PgJSONText(TypeDecorator):
    """JSON we encoded ourselves, cast to jsonb by PostgreSQL on insert."""

    impl = Text
    cache_ok = True

    def bind_expression(self, bindvalue):
        return cast(bindvalue, JSONB)


@functools.cache
def bulk_table(t: Table, dialect: str) -> TableClause:
    """`t` for bulk inserts: JSON columns take encoded text, everything else keeps its type."""
    text_json = PgJSONText() if dialect == "postgresql" else Text()
    return table(t.name, *(column(c.name, text_json if isinstance(c.type, JSON) else c.type) for c in t.columns))


def insert_rows(conn: Connection, t: Table, keys: tuple[str, ...], rows: list[tuple]) -> None:
    """One bulk insert of `rows` (tuples in `keys` order, which must be the table's column order) into `t`."""
    bulk = bulk_table(t, conn.dialect.name)
    if conn.dialect.name != "sqlite":
        conn.execute(insert(bulk), [dict(zip(keys, r, strict=True)) for r in rows])
        return
    compiled = insert(bulk).compile(dialect=conn.dialect, column_keys=list(keys))
    if tuple(compiled.positiontup or ()) != keys:
        raise RuntimeError(f"bulk insert: {t.name} binds {compiled.positiontup}, not {keys}")
    conn.exec_driver_sql(compiled.string, rows)


def copy_rows(conn: Connection, t: Table, keys: tuple[str, ...], rows: list[tuple]) -> None:
    """PostgreSQL: `rows` into `t` by COPY FROM STDIN on the connection's own transaction — several times faster
    than multi-row INSERTs for 10^5 rows. JSON columns take encoded text (parsed into jsonb by the server);
    other values as psycopg adapts them. Other databases: insert_rows."""
    if conn.dialect.name != "postgresql":
        insert_rows(conn, t, keys, rows)
        return
    quote = conn.dialect.identifier_preparer.quote  # our own table and column names, not input
    stmt = f"COPY {quote(t.name)} ({', '.join(map(quote, keys))}) FROM STDIN"
    raw: Any = conn.connection.dbapi_connection  # psycopg's own connection: COPY is its API, not the DB-API's
    with raw.cursor() as cur, cur.copy(stmt) as cp:
        for r in rows:
            cp.write_row(r)


def sqlite_binders(conn: Connection, t: Table, keys: tuple[str, ...]) -> list[Callable[[Any], Any] | None]:
    """Per key, what SQLAlchemy would do to a value before handing it to SQLite (None: nothing), for the bulk
    table's types (JSON columns are text here): apply them to rows bound for `insert_rows` on SQLite."""
    bulk = bulk_table(t, conn.dialect.name)
    return [bulk.c[k].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for k in keys]


#: the results trigger that mirrors a new result into its model (migration 0004); an import writes the mirror
#: itself, so during a bulk import the trigger would only look the model up to find nothing to change
RESULT_MIRROR_TRIGGER = "trg_results_insert"
#: below this many new rows, incremental index updates are cheap enough to leave the schema be
REBUILD_MIN_ROWS = 20_000
BULK_CACHE_KIB = 256 * 1024


@contextlib.contextmanager
def deferred_indexes(conn: Connection, n_new: int) -> Iterator[None]:
    """SQLite, large imports: drop the models table's secondary indexes (and the results insert trigger),
    insert, and recreate them.

    Each model row feeds ~30 indexes (one per filterable column), and inserting 100,000 rows into them one
    by one is most of an import's time; building an index over the finished table sorts once and is about
    twice as fast. The rebuild covers every row of the table, so it only pays when the import is at least
    as large as what is there. It happens inside the import's transaction (SQLite DDL is transactional):
    readers keep seeing the indexed snapshot, and a failure rolls the drop back. The indexes and the trigger
    are recreated from their own SQL in sqlite_master, whatever revision made them. Unique constraints stay
    in force. PostgreSQL is left alone: DROP INDEX would lock the table against every reader until commit."""
    if conn.dialect.name != "sqlite" or n_new < REBUILD_MIN_ROWS:
        yield
        return
    if n_new < conn.execute(select(func.count()).select_from(models)).scalar_one():
        yield
        return
    found = conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
                                 "((type = 'index' AND tbl_name = 'models') OR (type = 'trigger' AND name = ?))",
                                 (RESULT_MIRROR_TRIGGER,)).all()
    for kind, name, _ in found:
        conn.exec_driver_sql('DROP {} "{}"'.format(kind.upper(), name.replace('"', '""')))
    yield
    for _, _, sql in found:
        conn.exec_driver_sql(sql)


@contextlib.contextmanager
def big_page_cache(conn: Connection, threads: int) -> Iterator[None]:
    """SQLite: a 256 MiB page cache and `threads` sorting threads for this connection while it writes a large
    population.

    Every model row updates ~30 indexes (one per filterable column); with the default cache those random
    B-tree inserts keep evicting the pages the next row needs, and the import runs twice as long. Index
    rebuilds sort on every thread given. The settings are per connection and are put back afterwards (the
    memory is only used if needed)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    was = conn.exec_driver_sql("PRAGMA threads").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
    conn.exec_driver_sql(f"PRAGMA threads = {int(threads)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before or 0)}")
        conn.exec_driver_sql(f"PRAGMA threads = {int(was or 0)}")

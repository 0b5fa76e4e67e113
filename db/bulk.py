"""Bulk inserts of rows already in the driver's terms: what an import and a restore write 10^5-10^6 rows with.

JSON columns take text we encoded ourselves (orjson: several times faster than the stdlib json the JSON type
would call for every value; PostgreSQL casts it to jsonb), every other column keeps its type. On SQLite the rows
go to the driver's executemany as the tuples they are — per-row parameter handling in Python is otherwise a
third of a 100,000-row import — so their values must already be what SQLAlchemy would bind (JSON text, the
datetime string SQLite's DateTime writes: see `sqlite_binders`). On PostgreSQL Core's batched multi-row VALUES
binds them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Connection, Table, Text, TypeDecorator, cast, column, insert, table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import TableClause


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
    if tuple(compiled.positiontup) != keys:
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
    with conn.connection.dbapi_connection.cursor() as cur, cur.copy(stmt) as cp:
        for r in rows:
            cp.write_row(r)


def sqlite_binders(conn: Connection, t: Table, keys: tuple[str, ...]) -> list[Callable[[Any], Any] | None]:
    """Per key, what SQLAlchemy would do to a value before handing it to SQLite (None: nothing), for the bulk
    table's types (JSON columns are text here): apply them to rows bound for `insert_rows` on SQLite."""
    bulk = bulk_table(t, conn.dialect.name)
    return [bulk.c[k].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for k in keys]

"""A scratch PostgreSQL schema for a benchmark: created fresh, dropped afterwards (as the tests' fixtures do)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

Row = tuple[str, float, str]

PG_URL = os.environ.get("NETSPACE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def scratch_schema(prefix: str) -> Iterator[str | None]:
    """The SQLAlchemy URL of a new, empty schema (search_path in the URL), or None (said on stdout) when
    PostgreSQL is not reachable; the schema is dropped on the way out."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                                connect_timeout=3)
    except psycopg.OperationalError as e:
        print(f"{prefix}: PostgreSQL not reachable at {PG_URL} ({e}); skipped")
        yield None
        return
    try:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def on_both_databases(prefix: str, measure: Callable[[str, str], list[Row]]) -> list[Row]:
    """measure(url, label) on a fresh SQLite file and on a scratch PostgreSQL schema (when reachable)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure(f"sqlite:///{Path(tmp) / f'{prefix}.db'}", "SQLite")
    with scratch_schema(prefix) as url:
        if url is not None:
            rows += measure(url, "PostgreSQL")
    return rows

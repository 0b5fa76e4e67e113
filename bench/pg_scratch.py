"""A scratch PostgreSQL schema for a benchmark: created fresh, dropped afterwards (as the tests' fixtures do)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

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

"""The CLI's one way to a database: `with open_db(db) as engine: ...`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from backend.services.errors import ServiceError

from .errors import fail


@contextlib.contextmanager
def open_db(db: str | None, *, must_exist: bool = False, migrate: bool = True) -> Iterator[Engine]:
    """An engine on `db` (else $NETSPACE_DB, else ./netspace.db), migrated to the current schema (an older
    database is brought up to date, as every command does); service errors inside the block become the one-line
    exit 2; the engine is disposed afterwards.

    `must_exist`: commands that only read refuse a SQLite file that is not there, rather than create an empty
    database by accident."""
    from db.engine import database_url, make_engine
    from db.migrate import upgrade

    url = database_url(db)
    if must_exist:
        require_sqlite_file(url)
    engine = make_engine(url)
    try:
        if migrate:
            upgrade(engine)
        yield engine
    except ServiceError as e:
        fail(str(e))
    finally:
        engine.dispose()


def require_sqlite_file(url: str) -> None:
    """Fail (exit 2) when `url` names a SQLite file that does not exist."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") and not Path(u.database).exists():
        fail(f"db: no database at {u.database}")

"""Schema migrations: `upgrade(url)` = `alembic upgrade head`, configured in code (no working-directory
alembic.ini needed), so the server, workers and tests all migrate the same way on start.

`db/alembic.ini` exists for people who want the alembic CLI: `alembic -c db/alembic.ini -x url=... history`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from .engine import database_url, make_engine, writer

MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | Engine | None = None, revision: str = "head") -> None:
    """Bring the database at `url` (or an Engine's) to `revision`; safe to call from many processes at once."""
    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with writer(engine).begin() as conn:  # SQLite: take the write lock first, others wait their turn
            _lock(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("db/migrations has no revision")
    return head


def _lock(conn) -> None:
    """Serialise concurrent upgrades (a server and several workers starting together)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(726873)")

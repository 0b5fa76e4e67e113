"""The result trigger leaves a model row alone when it already mirrors the new result.

A bulk import writes each model with its error and status 'done' already set; the 0003 trigger would then
rewrite every one of those rows again (a full row write of a wide row, ~20 µs each: a third of a
100,000-record import). Now the trigger only updates a row whose mirror differs, which costs one primary-key
lookup. Every other writer behaves exactly as before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE_UPDATE = """UPDATE models SET error = NEW.error, status = CASE WHEN status = 'none' THEN 'done' ELSE status END
         WHERE id = NEW.model_id; END"""
_SQLITE_WHEN = """WHEN NEW.error IS NOT (SELECT error FROM models WHERE id = NEW.model_id)
         OR (SELECT status FROM models WHERE id = NEW.model_id) = 'none'"""


def _pg_function(only_changed: bool) -> str:
    guard = " AND (error IS DISTINCT FROM NEW.error OR status = 'none')" if only_changed else ""
    return f"""CREATE OR REPLACE FUNCTION netspace_result_mirror() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           UPDATE models SET error = NULL,
             status = CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE jobs.model_id = models.id) THEN status ELSE 'none' END
           WHERE id = OLD.model_id;
           RETURN OLD;
         END IF;
         UPDATE models SET error = NEW.error, status = CASE WHEN status = 'none' THEN 'done' ELSE status END
         WHERE id = NEW.model_id{guard};
         RETURN NEW;
       END $$"""


def _switch(only_changed: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_function(only_changed))
        return
    op.execute("DROP TRIGGER trg_results_insert")
    when = _SQLITE_WHEN if only_changed else ""
    op.execute(f"CREATE TRIGGER trg_results_insert AFTER INSERT ON results {when} BEGIN {_SQLITE_UPDATE}")


def upgrade() -> None:
    _switch(True)


def downgrade() -> None:
    _switch(False)

"""models.config_text: the config's canonical JSON text (sorted keys, no spaces), written once with the row.

The CSV export writes every model's config as this text. Re-making it per row (decode the stored JSON, encode it
again with sorted keys) cost ~5-9 us a model, most of the 10 us a row that 100k rows/s at 10^6 models allows;
PostgreSQL's jsonb text is not it (keys ordered by length, spaces) and neither is SQLite's stored text (the JSON
type's json.dumps: insertion order, spaces). Writers fill it (backend.designspace.exports.config_text); a row
without it (an archive from before this column) is exported the old way, so the column is a cache, never the
only copy. Configs are never rewritten in place, so the text cannot go stale.

The backfill encodes every existing row here, BATCH rows per statement pair (~10 us a model).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backend.designspace.exports import config_text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 2_000


def upgrade() -> None:
    op.add_column("models", sa.Column("config_text", sa.Text(), nullable=True))  # ADD COLUMN: no table rebuild
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> int:
    """Write config_text for every model without it; returns how many were filled."""
    rows = sa.table("models", sa.column("id", sa.Integer), sa.column("config", sa.JSON),
                    sa.column("config_text", sa.Text))
    done, last = 0, 0
    while True:
        part = conn.execute(sa.select(rows.c.id, rows.c.config)
                            .where(rows.c.id > last, rows.c.config_text.is_(None))
                            .order_by(rows.c.id).limit(BATCH)).all()
        if not part:
            return done
        conn.execute(rows.update().where(rows.c.id == sa.bindparam("p_id"))
                     .values(config_text=sa.bindparam("p_text")),
                     [{"p_id": i, "p_text": config_text(c)} for i, c in part])
        done += len(part)
        last = part[-1][0]


def downgrade() -> None:
    op.drop_column("models", "config_text")

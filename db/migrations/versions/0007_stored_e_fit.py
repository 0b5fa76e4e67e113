"""models.e_fit and models.derived: values derived from a model's config, computed once and stored.

The e_fit figure (and refinement to the RegNet law) fitted the quantized linear law to every model on request,
tens of ms a model: ~280 s for the first e_fit figure of a 20k study, redone by concurrent requests. Now the
fit is stored: at sampling (a model its own law reproduces: 0, without a search), by the worker that trains a
model, after an import, and here for the rows that exist. `derived` says the values were computed, so a model
without stage lists (a NAS cell network: e_fit stays null) is not fitted again and again.

The backfill fits every existing model with stage lists in this process (backend.analysis.widths, pure numpy):
~0.4 ms a model drawn from a RegNet space, ~20-50 ms an AnyNet or imported one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from backend.analysis.widths import e_fit_of

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 1_000


def upgrade() -> None:
    op.add_column("models", sa.Column("e_fit", sa.Float(), nullable=True))  # ADD COLUMN: no table rebuild
    op.add_column("models", sa.Column("derived", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_models_study_e_fit", "models", ["study_id", "e_fit"])
    op.create_index("ix_models_study_derived", "models", ["study_id", "derived"])
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> int:
    """Fit every model not yet derived, BATCH rows per statement pair; returns how many were filled."""
    rows = sa.table("models", sa.column("id", sa.Integer), sa.column("config", sa.JSON),
                    sa.column("e_fit", sa.Float), sa.column("derived", sa.Boolean))
    done, last = 0, 0
    while True:
        part = conn.execute(sa.select(rows.c.id, rows.c.config).where(rows.c.id > last, rows.c.derived.is_(False))
                            .order_by(rows.c.id).limit(BATCH)).all()
        if not part:
            return done
        conn.execute(rows.update().where(rows.c.id == sa.bindparam("p_id"))
                     .values(e_fit=sa.bindparam("p_e_fit"), derived=True),
                     [{"p_id": i, "p_e_fit": e_fit_of(c)} for i, c in part])
        done += len(part)
        last = part[-1][0]


def downgrade() -> None:
    op.drop_index("ix_models_study_derived", table_name="models")
    op.drop_index("ix_models_study_e_fit", table_name="models")
    op.drop_column("models", "derived")  # SQLite >= 3.35 drops a column without a table rebuild
    op.drop_column("models", "e_fit")

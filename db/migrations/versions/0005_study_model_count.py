"""studies.n_models: the study's model count, kept by the two writers that add models (sampling, importing).

An unfiltered page of a study reports its exact total; on PostgreSQL `count(*)` over a 10^6-model study's index
entries takes ~90 ms on every page and every figure request (the data version), a column read takes none.
The count is kept by the services in the transaction that inserts the models, not by a row trigger: a
per-row trigger made one-row-per-statement inserts (psycopg executemany) 5x slower.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("studies") as batch:
        batch.add_column(sa.Column("n_models", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE studies SET n_models = (SELECT count(*) FROM models WHERE models.study_id = studies.id)")


def downgrade() -> None:
    with op.batch_alter_table("studies") as batch:
        batch.drop_column("n_models")

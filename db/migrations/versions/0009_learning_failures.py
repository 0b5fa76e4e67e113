"""results.did_not_learn and results.initial_loss: learning failures that are not divergence.

A model whose loss stays finite but which learns nothing (final error near chance, or final training loss
above its first batch's) is flagged by the trainer (backend.analysis.failures). Existing rows keep null
("unknown"): their initial loss was never recorded and their study's class count is not the results table's
to know; the flag of imported populations is computed as they are imported.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite >= 3.35 drops columns): a batch "move and copy" of `results`
# on SQLite would drop its mirror triggers (migrations 0003/0004).

def upgrade() -> None:
    op.add_column("results", sa.Column("did_not_learn", sa.Boolean(), nullable=True))
    op.add_column("results", sa.Column("initial_loss", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("results", "initial_loss")
    op.drop_column("results", "did_not_learn")

"""jobs.claim_round: studies of equal priority are claimed round-robin, not one study after the other.

Before, claims went by (priority DESC, id), so the 24 jobs of the demo's first study all ran before the first
job of the second: for half the run a comparison had one empty side. Now every job carries its round within its
study (the k-th job queued for a study has round k: its model's index) and claims go by
(priority DESC, claim_round, id): round 0 of every study, then round 1 of every study, and so on. The order
is a plain index scan on both databases (`ix_jobs_claim` is rebuilt to match it), so a claim never scans the
studies, and PostgreSQL's `FOR UPDATE SKIP LOCKED` works exactly as before.

Existing jobs are backfilled with their model's index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("claim_round", sa.Integer(), nullable=False, server_default="0"))
    op.execute('UPDATE jobs SET claim_round = (SELECT models."index" FROM models WHERE models.id = jobs.model_id)')
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index("ix_jobs_claim", "jobs", ["status", sa.text("priority DESC"), "claim_round", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.create_index("ix_jobs_claim", "jobs", ["status", sa.text("priority DESC"), "id"])
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("claim_round")

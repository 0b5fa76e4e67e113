"""note_revisions: Markdown notes on a study or a model, one row per saved version (who and when).

A note is never edited in place: each save appends a revision, so the current note is the newest row of its
target and the older rows are its history. Exactly one of study_id and model_id is set (a check constraint);
rows go with their study or model (ON DELETE CASCADE), so a backup carries them by their foreign key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "note_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], name="fk_note_revisions_study_id_studies",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_note_revisions_model_id_models",
                                ondelete="CASCADE"),
        sa.CheckConstraint("(study_id IS NULL) <> (model_id IS NULL)", name="ck_note_revisions_one_target"),
        sa.PrimaryKeyConstraint("id", name="pk_note_revisions"),
    )
    op.create_index("ix_note_revisions_study", "note_revisions", ["study_id", "id"])
    op.create_index("ix_note_revisions_model", "note_revisions", ["model_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_note_revisions_model", "note_revisions")
    op.drop_index("ix_note_revisions_study", "note_revisions")
    op.drop_table("note_revisions")

"""ix_events_study_id: events by (study, id), for the per-study data version of cached populations.

A cached population is keyed by its own study's newest data event (db.events.study_data_version) instead of the
newest event of the whole log, so that a result in one study no longer invalidates every study's cache; and a
cached population is patched with the models that the study's events since then name (db.events.models_changed).
Both are backward walks of this index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_study_id", "events", ["study_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_study_id", table_name="events")

"""Initial schema: studies, models (with flat parameter columns), jobs, results, workers.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# frozen copy of backend.designspace.params.PARAM_NAMES at this revision (a migration never changes later)
PARAMS = ("d", "w0", "wa", "wm", "g", "b", *(f"{p}_{i}" for p in "dwgb" for i in range(1, 6)))
INDEXED = ("flops", "params", "acts", *PARAMS)


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("space_name", sa.String(200), nullable=False),
        sa.Column("space", JSON, nullable=False),
        sa.Column("dataset", JSON, nullable=False),
        sa.Column("recipe", JSON, nullable=False),
        sa.Column("regime", JSON, nullable=False),
        sa.Column("im_size", sa.Integer(), nullable=False),
        sa.Column("num_classes", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["studies.id"], name="fk_studies_parent_id_studies",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_studies"),
        sa.UniqueConstraint("name", name="uq_studies_name"),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("config", JSON, nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("arch_type", sa.String(32), nullable=False),
        sa.Column("flops", sa.BigInteger(), nullable=False),
        sa.Column("params", sa.BigInteger(), nullable=False),
        sa.Column("acts", sa.BigInteger(), nullable=True),
        sa.Column("extra", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        *(sa.Column(p, sa.Float(), nullable=True) for p in PARAMS),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], name="fk_models_study_id_studies", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.UniqueConstraint("study_id", "config_hash", name="uq_models_study_config"),
        sa.UniqueConstraint("study_id", "index", name="uq_models_study_index"),
    )
    for col in INDEXED:
        op.create_index(f"ix_models_study_{col}", "models", ["study_id", col])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("epochs_done", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_jobs_model_id_models", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("model_id", name="uq_jobs_model_id"),
    )
    op.create_index("ix_jobs_claim", "jobs", ["status", sa.text("priority DESC"), "id"])
    op.create_index("ix_jobs_worker_id", "jobs", ["worker_id"])
    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Float(), nullable=True),
        sa.Column("error_final", sa.Float(), nullable=True),
        sa.Column("diverged", sa.Boolean(), nullable=False),
        sa.Column("train_loss", JSON, nullable=True),
        sa.Column("train_error", JSON, nullable=True),
        sa.Column("test_error", JSON, nullable=True),
        sa.Column("train_seconds", sa.Float(), nullable=True),
        sa.Column("infer_ms", sa.Float(), nullable=True),
        sa.Column("device", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_results_job_id_jobs", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name="fk_results_model_id_models", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_results"),
        sa.UniqueConstraint("job_id", name="uq_results_job_id"),
        sa.UniqueConstraint("model_id", name="uq_results_model_id"),
    )
    op.create_index("ix_results_error", "results", ["error"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("current_job_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["current_job_id"], ["jobs.id"], name="fk_workers_current_job_id_jobs",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
    )


def downgrade() -> None:
    for table in ("workers", "results", "jobs", "models", "studies"):
        op.drop_table(table)

"""models.error and models.status mirror results.error and jobs.status (kept by triggers), so that filters,
sorts, top-k and counts over a study are single-table, index-driven queries.

The triggers live in the database, so every writer — queue operations, importers, hand-written SQL — keeps the
mirror right without knowing about it: a result sets its model's error (and turns status 'none' into 'done' for
imported models, which have no job; deleting it turns such a model back to 'none'); a job's insert or status
change sets its model's status.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER trg_results_insert AFTER INSERT ON results BEGIN
         UPDATE models SET error = NEW.error, status = CASE WHEN status = 'none' THEN 'done' ELSE status END
         WHERE id = NEW.model_id; END""",
    """CREATE TRIGGER trg_results_update AFTER UPDATE OF error, model_id ON results BEGIN
         UPDATE models SET error = NEW.error WHERE id = NEW.model_id; END""",
    """CREATE TRIGGER trg_results_delete AFTER DELETE ON results BEGIN
         UPDATE models SET error = NULL, status = CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE jobs.model_id = models.id)
         THEN status ELSE 'none' END WHERE id = OLD.model_id; END""",
    """CREATE TRIGGER trg_jobs_insert AFTER INSERT ON jobs BEGIN
         UPDATE models SET status = NEW.status WHERE id = NEW.model_id; END""",
    """CREATE TRIGGER trg_jobs_update AFTER UPDATE OF status ON jobs BEGIN
         UPDATE models SET status = NEW.status WHERE id = NEW.model_id; END""",
    """CREATE TRIGGER trg_jobs_delete AFTER DELETE ON jobs BEGIN
         UPDATE models SET status = CASE WHEN error IS NOT NULL THEN 'done' ELSE 'none' END
         WHERE id = OLD.model_id; END""",
)
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION netspace_result_mirror() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           UPDATE models SET error = NULL,
             status = CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE jobs.model_id = models.id) THEN status ELSE 'none' END
           WHERE id = OLD.model_id;
           RETURN OLD;
         END IF;
         UPDATE models SET error = NEW.error, status = CASE WHEN status = 'none' THEN 'done' ELSE status END
         WHERE id = NEW.model_id;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER trg_results_mirror AFTER INSERT OR DELETE OR UPDATE OF error, model_id ON results
       FOR EACH ROW EXECUTE FUNCTION netspace_result_mirror()""",
    """CREATE FUNCTION netspace_job_mirror() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           UPDATE models SET status = CASE WHEN error IS NOT NULL THEN 'done' ELSE 'none' END
           WHERE id = OLD.model_id;
           RETURN OLD;
         END IF;
         UPDATE models SET status = NEW.status WHERE id = NEW.model_id;
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER trg_jobs_mirror AFTER INSERT OR DELETE OR UPDATE OF status ON jobs
       FOR EACH ROW EXECUTE FUNCTION netspace_job_mirror()""",
)


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("error", sa.Float(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="none"))
    op.execute("UPDATE models SET error = (SELECT results.error FROM results WHERE results.model_id = models.id)")
    op.execute("""UPDATE models SET status = COALESCE(
                    (SELECT jobs.status FROM jobs WHERE jobs.model_id = models.id),
                    CASE WHEN EXISTS (SELECT 1 FROM results WHERE results.model_id = models.id)
                         THEN 'done' ELSE 'none' END)""")
    op.create_index("ix_models_study_error", "models", ["study_id", "error"])
    op.create_index("ix_models_study_status", "models", ["study_id", "status"])
    for stmt in POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_results_mirror ON results")
        op.execute("DROP TRIGGER trg_jobs_mirror ON jobs")
        op.execute("DROP FUNCTION netspace_result_mirror()")
        op.execute("DROP FUNCTION netspace_job_mirror()")
    else:
        for name in ("results_insert", "results_update", "results_delete", "jobs_insert", "jobs_update",
                     "jobs_delete"):
            op.execute(f"DROP TRIGGER trg_{name}")
    op.drop_index("ix_models_study_status", "models")
    op.drop_index("ix_models_study_error", "models")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("status")
        batch.drop_column("error")

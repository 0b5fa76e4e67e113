"""Schema migrations: head matches the models, an old database upgrades with its rows intact, SQLite settings."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db import queue
from db.engine import make_engine
from db.migrate import current_revision, head_revision, upgrade
from db.models import Base

ROWS_AT_0001 = [
    """INSERT INTO studies (id, name, space_name, space, dataset, recipe, regime, im_size, num_classes, seed, source,
       created_at) VALUES (1, 'old', 'RegNetX', '{"name": "RegNetX"}', '{"name": "digits"}', '{"epochs": 2}', '{}',
       32, 10, 7, 'sampled', '2025-01-01 00:00:00')""",
    """INSERT INTO models (id, study_id, "index", config, config_hash, arch_type, flops, params, acts, created_at, d,
       w_1) VALUES (1, 1, 0, '{"type": "anynet"}', 'h0', 'anynet', 1000, 200, 30, '2025-01-01 00:00:00', 13, 24),
       (2, 1, 1, '{"type": "anynet"}', 'h1', 'anynet', 2000, 300, 40, '2025-01-01 00:00:00', 7, 48)""",
    """INSERT INTO jobs (id, model_id, status, priority, attempts, max_attempts, epochs_done, queued_at, finished_at)
       VALUES (1, 1, 'done', 0, 0, 3, 2, '2025-01-01 00:00:00', '2025-01-01 01:00:00'),
       (2, 2, 'queued', 0, 0, 3, 0, '2025-01-01 00:00:00', NULL)""",
    """INSERT INTO results (id, model_id, job_id, error, diverged, test_error, created_at)
       VALUES (1, 1, 1, 12.5, false, '[20.0, 12.5]', '2025-01-01 01:00:00')""",
]


def _diffs(engine):
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def test_head_schema_matches_the_models(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert _diffs(engine) == []
    upgrade(engine)  # idempotent
    engine.dispose()


def test_migrated_copies_the_tests_use_are_at_head_and_match_the_models(db_engine):
    """db_engine copies one migrated template per test process (tests/conftest.py): the copy is what a migration
    gives (the triggers are held to it by test_models_mirror_results_and_jobs_whoever_writes_them)."""
    assert current_revision(db_engine) == head_revision()
    assert _diffs(db_engine) == []
    upgrade(db_engine)  # nothing left to do, and no error


def test_old_database_upgrades_without_losing_rows(db_url):
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        for stmt in ROWS_AT_0001:
            conn.execute(sa.text(stmt))
        assert "events" not in sa.inspect(conn).get_table_names()
    if engine.dialect.name == "postgresql":  # explicit ids above: move the sequences past them
        with engine.begin() as conn:
            for t in ("studies", "models", "jobs", "results"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"))
    upgrade(engine)
    assert current_revision(engine) == head_revision() != "0001"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name, seed, n_models FROM studies")).all() == [("old", 7, 2)]
        assert conn.execute(sa.text('SELECT id, "index", flops, d, w_1 FROM models ORDER BY id')).all() == [
            (1, 0, 1000, 13.0, 24.0), (2, 1, 2000, 7.0, 48.0)]
        assert conn.execute(sa.text("SELECT id, status, progress FROM jobs ORDER BY id")).all() == [
            (1, "done", None), (2, "queued", None)]
        assert conn.execute(sa.text("SELECT error FROM results")).scalar_one() == 12.5
        assert conn.execute(sa.text("SELECT id, error, status FROM models ORDER BY id")).all() == [
            (1, 12.5, "done"), (2, None, "queued")]  # the mirrors are backfilled
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one() == 0
    # the upgraded database works: the old queued job is claimed and completed, with events
    w = queue.register_worker(engine, "cpu")
    job = queue.claim_job(engine, w, 60)
    assert (job.job_id, job.model_id, job.study_seed, job.im_size) == (2, 2, 7, 32)
    assert queue.complete_job(engine, job.job_id, w, {"test_error": [30.0, 25.0]})
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT error FROM results WHERE model_id = 2")).scalar_one() == 25.0
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one() >= 3
    assert _diffs(engine) == []
    engine.dispose()


def test_concurrent_upgrades_from_many_processes(db_url):
    """A server and its workers start together: every process migrates, none fails, one schema results."""
    code = "import sys; from db.migrate import upgrade; upgrade(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 3, errors
    engine = make_engine(db_url)
    assert current_revision(engine) == head_revision()
    assert _diffs(engine) == []
    engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys_and_cascades(sqlite_url):
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    with engine.begin() as conn:
        for stmt in ROWS_AT_0001:
            conn.execute(sa.text(stmt))
        conn.execute(sa.text("DELETE FROM studies"))
        counts = [conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in ("models", "jobs", "results")]
    assert counts == [0, 0, 0]
    engine.dispose()


def test_models_mirror_results_and_jobs_whoever_writes_them(db_engine):
    """Triggers keep models.error/status equal to results.error and jobs.status, even for plain SQL writers."""
    with db_engine.begin() as conn:
        for stmt in ROWS_AT_0001[:2]:
            conn.execute(sa.text(stmt))
        mirror = lambda: conn.execute(sa.text("SELECT id, error, status FROM models ORDER BY id")).all()  # noqa: E731
        assert mirror() == [(1, None, "none"), (2, None, "none")]
        conn.execute(sa.text(ROWS_AT_0001[2]))  # jobs: model 1 done, model 2 queued
        assert mirror() == [(1, None, "done"), (2, None, "queued")]
        conn.execute(sa.text("UPDATE jobs SET status = 'running' WHERE model_id = 2"))
        conn.execute(sa.text(ROWS_AT_0001[3]))  # a result for model 1
        assert mirror() == [(1, 12.5, "done"), (2, None, "running")]
        conn.execute(sa.text("UPDATE results SET error = 11.0 WHERE model_id = 1"))
        conn.execute(sa.text("DELETE FROM jobs WHERE model_id = 1"))  # a result without a job: done
        assert mirror() == [(1, 11.0, "done"), (2, None, "running")]
        conn.execute(sa.text("DELETE FROM results"))
        conn.execute(sa.text("INSERT INTO results (model_id, error, diverged, created_at) "
                             "VALUES (2, 40.0, false, '2025-01-01 00:00:00')"))
        assert mirror() == [(1, None, "none"), (2, 40.0, "running")]

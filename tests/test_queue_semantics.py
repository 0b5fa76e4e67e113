"""Queue semantics on SQLite and PostgreSQL: order, leases, retries, stale workers, cancel/requeue, events."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.services.sampling import queue_samples
from backend.services.studies import StudyIn, create_study
from db import queue
from db.models import events, jobs, results, utcnow, workers


def make_study(engine, n: int, name: str = "q", priority: int = 0, max_attempts: int = 3) -> int:
    sid = create_study(engine, StudyIn(name=name, space="RegNetX", seed=11))["id"]
    queue_samples(engine, sid, n, priority=priority, max_attempts=max_attempts)
    return sid


def job_rows(engine):
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(sa.select(jobs))}


def later(seconds: float) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=seconds)


def test_claim_order_follows_priority_then_age_and_carries_the_study(db_engine):
    sid = make_study(db_engine, 3)
    queue_samples(db_engine, sid, 5, priority=5)  # the prefix of 3 exists: 2 new jobs at priority 5
    w = queue.register_worker(db_engine, "cpu", host="h", pid=1)
    got = [queue.claim_job(db_engine, w, 60) for _ in range(6)]
    assert got[-1] is None
    ids = [j.job_id for j in got[:5]]
    assert ids == [4, 5, 1, 2, 3]
    j = got[0]
    assert (j.study_id, j.attempt, j.max_attempts, j.study_seed, j.model_index) == (sid, 1, 3, 11, 3)
    assert (j.im_size, j.num_classes, j.dataset, j.arch_type) == (32, 10, {"name": "digits"}, "anynet")
    assert j.recipe["epochs"] == 10 and j.config["type"] == "anynet" and j.flops > 0
    rows = job_rows(db_engine)
    assert all(rows[i].status == "running" and rows[i].worker_id == w for i in ids)
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(workers.c.status, workers.c.current_job_id)).one() == ("busy", 3)


def test_heartbeat_and_epochs_extend_the_lease_and_show_live_progress(db_engine):
    make_study(db_engine, 1)
    w = queue.register_worker(db_engine, "cpu")
    j = queue.claim_job(db_engine, w, 5)
    assert queue.heartbeat(db_engine, j.job_id, w, 600)
    assert job_rows(db_engine)[j.job_id].lease_until > later(500)
    for e in range(3):
        assert queue.record_epoch(db_engine, j.job_id, w, {"epoch": e, "test_error": 50.0 - e, "loss": float("nan")})
    row = job_rows(db_engine)[j.job_id]
    assert row.epochs_done == 3 and [p["test_error"] for p in row.progress] == [50.0, 49.0, 48.0]
    assert row.progress[0]["loss"] is None  # NaN is not JSON
    assert not queue.heartbeat(db_engine, j.job_id, "someone-else", 60)
    assert not queue.record_epoch(db_engine, j.job_id, "someone-else", {"epoch": 9})
    assert job_rows(db_engine)[j.job_id].epochs_done == 3


def test_expired_lease_requeues_with_attempts_then_fails_and_keeps_the_error(db_engine):
    make_study(db_engine, 1, max_attempts=2)
    w1 = queue.register_worker(db_engine, "cpu", host="a")
    j = queue.claim_job(db_engine, w1, 30)
    assert queue.requeue_expired(db_engine) == 0  # lease still valid
    assert queue.requeue_expired(db_engine, now=later(31)) == 1
    row = job_rows(db_engine)[j.job_id]
    assert (row.status, row.attempts, row.worker_id) == ("queued", 1, None)
    assert w1 in row.last_error and "lease expired" in row.last_error
    assert not queue.heartbeat(db_engine, j.job_id, w1, 30)  # the old worker learns it lost the job
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(workers.c.status).where(workers.c.id == w1)).scalar() == "lost"
    w2 = queue.register_worker(db_engine, "cpu", host="b")
    j2 = queue.claim_job(db_engine, w2, 30)
    assert (j2.job_id, j2.attempt) == (j.job_id, 2)
    assert queue.requeue_expired(db_engine, now=later(31)) == 1
    row = job_rows(db_engine)[j.job_id]
    assert (row.status, row.attempts) == ("failed", 2) and w2 in row.last_error and row.finished_at is not None
    assert queue.claim_job(db_engine, w2, 30) is None


def test_lease_expires_in_real_time(db_engine):
    make_study(db_engine, 1)
    w = queue.register_worker(db_engine, "cpu")
    j = queue.claim_job(db_engine, w, 0.3)
    time.sleep(0.5)
    assert queue.requeue_expired(db_engine) == 1
    assert queue.claim_job(db_engine, w, 60).job_id == j.job_id


def test_a_stale_worker_cannot_write_a_second_result(db_engine):
    make_study(db_engine, 1)
    w1, w2 = (queue.register_worker(db_engine, "cpu", host=h) for h in ("a", "b"))
    j = queue.claim_job(db_engine, w1, 30)
    queue.requeue_expired(db_engine, now=later(31))
    assert queue.claim_job(db_engine, w2, 30).job_id == j.job_id
    assert queue.complete_job(db_engine, j.job_id, w2, {"test_error": [40.0, 30.0, 35.0], "device": "b"})
    assert not queue.complete_job(db_engine, j.job_id, w1, {"test_error": [10.0], "device": "a"})  # came back late
    assert not queue.complete_job(db_engine, j.job_id, w2, {"test_error": [10.0]})  # twice by the holder
    with db_engine.connect() as conn:
        rows = conn.execute(sa.select(results.c.error, results.c.error_final, results.c.device)).all()
    assert rows == [(30.0, 35.0, "b")]
    assert job_rows(db_engine)[j.job_id].status == "done"
    # the unique keys hold even for writers that bypass the queue functions
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        conn.execute(sa.insert(results).values(model_id=j.model_id, job_id=None, diverged=False, created_at=utcnow()))


def test_failures_retry_until_max_attempts(db_engine):
    make_study(db_engine, 1, max_attempts=3)
    w = queue.register_worker(db_engine, "cpu")
    statuses = []
    for k in range(3):
        j = queue.claim_job(db_engine, w, 30)
        assert j.attempt == k + 1
        statuses.append(queue.fail_job(db_engine, j.job_id, w, f"CUDA out of memory #{k}"))
    assert statuses == ["queued", "queued", "failed"]
    row = job_rows(db_engine)[j.job_id]
    assert (row.attempts, row.last_error) == (3, "CUDA out of memory #2")
    assert queue.fail_job(db_engine, j.job_id, w, "again") is None  # not held any more
    assert queue.claim_job(db_engine, w, 30) is None


def test_release_returns_the_job_without_penalty(db_engine):
    make_study(db_engine, 1)
    w = queue.register_worker(db_engine, "cpu")
    j = queue.claim_job(db_engine, w, 30)
    queue.record_epoch(db_engine, j.job_id, w, {"epoch": 0})
    assert queue.release_job(db_engine, j.job_id, w)
    row = job_rows(db_engine)[j.job_id]
    assert (row.status, row.attempts, row.epochs_done, row.progress) == ("queued", 0, 0, None)
    assert not queue.release_job(db_engine, j.job_id, w)
    assert queue.claim_job(db_engine, w, 30).attempt == 1


def test_cancel_stops_the_worker_and_requeue_resets(db_engine):
    make_study(db_engine, 2)
    w = queue.register_worker(db_engine, "cpu")
    j = queue.claim_job(db_engine, w, 30)
    assert queue.cancel_job(db_engine, j.job_id)
    assert not queue.heartbeat(db_engine, j.job_id, w, 30)
    assert not queue.complete_job(db_engine, j.job_id, w, {"test_error": [1.0]})
    assert not queue.cancel_job(db_engine, j.job_id)  # already cancelled
    assert queue.cancel_job(db_engine, 2)  # a queued one
    assert queue.claim_job(db_engine, w, 30) is None
    assert queue.requeue_job(db_engine, j.job_id, priority=9)
    row = job_rows(db_engine)[j.job_id]
    assert (row.status, row.attempts, row.priority) == ("queued", 0, 9)
    j2 = queue.claim_job(db_engine, w, 30)
    assert queue.complete_job(db_engine, j2.job_id, w, {"test_error": [5.0]})
    assert not queue.requeue_job(db_engine, j2.job_id)  # done keeps its result
    with pytest.raises(queue.JobNotFound):
        queue.cancel_job(db_engine, 999)
    assert queue.queue_counts(db_engine) == {"queued": 0, "running": 0, "done": 1, "failed": 0, "cancelled": 1}


def test_every_change_is_logged_in_the_same_transaction(db_engine):
    sid = make_study(db_engine, 1)
    w = queue.register_worker(db_engine, "cpu")
    j = queue.claim_job(db_engine, w, 30)
    queue.record_epoch(db_engine, j.job_id, w, {"epoch": 0, "test_error": 60.0})
    queue.complete_job(db_engine, j.job_id, w, {"test_error": [60.0, 55.0], "infer_ms": 1.5})
    with db_engine.connect() as conn:
        rows = conn.execute(sa.select(events.c.kind, events.c.study_id, events.c.job_id, events.c.payload)
                            .order_by(events.c.id)).all()
    kinds = [(k, (p or {}).get("status")) for k, _, _, p in rows]
    assert kinds == [("study_created", None), ("jobs_queued", None), ("worker", "idle"), ("job", "running"),
                     ("epoch", None), ("job", "done"), ("result", None)]
    assert all(s == sid for k, s, _, _ in rows if k != "worker")
    assert rows[-1].payload == {"error": 55.0, "diverged": False, "did_not_learn": None}


def test_bad_results_are_refused_before_anything_is_written(db_engine):
    make_study(db_engine, 1)
    w = queue.register_worker(db_engine, "cpu")
    j = queue.claim_job(db_engine, w, 30)
    with pytest.raises(ValueError, match="unknown keys"):
        queue.complete_job(db_engine, j.job_id, w, {"test_error": [1.0], "eror": 1.0})
    assert job_rows(db_engine)[j.job_id].status == "running"
    assert queue.complete_job(db_engine, j.job_id, w, {"test_error": [float("nan")], "diverged": True})
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(results.c.error, results.c.diverged, results.c.test_error)).one() == (
            None, True, [None])


def test_old_events_are_pruned_by_age_and_count_and_ids_never_reused(db_engine):
    from db.events import append_events, event_row, last_event_id, prune_events

    old = utcnow() - dt.timedelta(days=30)
    with db_engine.begin() as conn:
        append_events(conn, [event_row("job", now=old) for _ in range(5)] + [event_row("job") for _ in range(20)])
    assert prune_events(db_engine, keep_seconds=86400, keep_rows=10) == 15
    with db_engine.connect() as conn:
        ids = conn.execute(sa.select(events.c.id).order_by(events.c.id)).scalars().all()
        top = last_event_id(conn)
    assert len(ids) == 10 and ids[-1] == top == 25
    assert prune_events(db_engine, keep_seconds=0, keep_rows=10) == 10  # everything is older than now
    with db_engine.begin() as conn:
        append_events(conn, [event_row("job")])
        assert last_event_id(conn) == 26  # a resuming stream (Last-Event-ID 25) still sees it


def test_live_worker_count_takes_only_fresh_running_workers(db_engine):
    """What the dashboard's "no worker is running" notice reads (services.jobs.count_alive, /api/health)."""
    from backend.services.jobs import ALIVE_SECONDS, count_alive, health, list_workers

    assert count_alive(db_engine) == 0 and health(db_engine).workers_alive == 0
    fresh = queue.register_worker(db_engine, "cpu", host="a")
    stale = queue.register_worker(db_engine, "cpu", host="b")
    stopped = queue.register_worker(db_engine, "cpu", host="c")
    queue.unregister_worker(db_engine, stopped)
    with db_engine.begin() as conn:  # b's last heartbeat is older than the window: killed without unregistering
        conn.execute(sa.update(workers).where(workers.c.id == stale)
                     .values(heartbeat_at=utcnow() - dt.timedelta(seconds=ALIVE_SECONDS + 5)))
    assert count_alive(db_engine) == 1
    assert {w["id"] for w in list_workers(db_engine) if w["alive"]} == {fresh}  # the same test in both
    h = health(db_engine)
    assert (h.workers_alive, h.alive_seconds) == (1, ALIVE_SECONDS)
    assert queue.worker_heartbeat(db_engine, stale)  # it beats again: alive again
    assert count_alive(db_engine) == 2

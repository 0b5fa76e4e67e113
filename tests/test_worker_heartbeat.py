"""The heartbeat race (issue 18, item 5): a heartbeat in flight for a job that has just finished must never
affect the job the worker claims next.

The race is ordered, not waited for: the worker's own heartbeat thread runs against the real database, but its
first heartbeat for the first job is held until that job is done, then renews (and learns the job is no longer
held) and is held again until the worker has claimed the second job before it returns. With one shared "lost"
flag this late answer abandoned the second job (left running until its lease expired, one attempt charged)."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import select

from backend.services.studies import StudyIn, create_study
from db import queue
from db.models import jobs, models, results
from workers.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow  # two real trainings (one epoch on digits) per database


@pytest.fixture
def one_thread():
    """Train on one thread, as the worker processes of the other worker tests do (OMP_NUM_THREADS=1): the
    machine is shared, and spinning threads cost more than they give on models this small."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _wait(predicate, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_late_heartbeat_for_a_finished_job_leaves_the_next_job_alone(db_engine, db_url, monkeypatch, caplog,
                                                                       one_thread):
    study_id = create_study(db_engine, StudyIn(name="race", space="RegNetX", dataset={"name": "digits"},
                                               recipe={"epochs": 1, "batch_size": 64},
                                               regime={"flops": [1e6, 4e6]}, n=2, seed=1))["id"]

    def job_states() -> list[tuple]:
        with db_engine.connect() as conn:
            return conn.execute(select(jobs.c.id, jobs.c.status, jobs.c.worker_id, jobs.c.attempts)
                                .join(models, models.c.id == jobs.c.model_id)
                                .where(models.c.study_id == study_id).order_by(jobs.c.id)).all()

    real_heartbeat = queue.heartbeat
    order: dict[str, object] = {}

    def ordered_heartbeat(db, job_id, worker_id, lease_seconds=120.0):
        if order.setdefault("first_job", job_id) != job_id or order.get("held"):
            return real_heartbeat(db, job_id, worker_id, lease_seconds)
        order["held"] = True
        order["finished_first"] = _wait(lambda: any(j.id == job_id and j.status == "done" for j in job_states()))
        held = real_heartbeat(db, job_id, worker_id, lease_seconds)  # renews nothing: the job is done
        order["answer"] = held
        order["claimed_next"] = _wait(lambda: any(j.id != job_id and j.status == "running" and j.worker_id == worker_id
                                                  for j in job_states()))
        return held  # ... and only now does the heartbeat thread act on its answer

    monkeypatch.setattr(queue, "heartbeat", ordered_heartbeat)
    worker = Worker(WorkerOptions(db_url=db_url, device="cpu", lease_seconds=600, heartbeat_seconds=0.05,
                                  poll_seconds=0.1, max_jobs=2, study_id=study_id))
    try:
        with caplog.at_level(logging.WARNING, logger="netspace.worker"):
            runner = threading.Thread(target=worker.run, daemon=True)
            runner.start()
            runner.join(240)
        assert not runner.is_alive(), "the worker did not finish its two jobs"
        assert order.get("finished_first") and order.get("claimed_next") and order.get("answer") is False, order
        states = job_states()
        assert [(s.status, s.attempts) for s in states] == [("done", 0), ("done", 0)], states
        with db_engine.connect() as conn:
            n_results = len(conn.execute(select(results.c.id).where(results.c.job_id.in_([s.id for s in states])))
                            .all())
        assert n_results == 2
        assert not [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    finally:
        worker.engine.dispose()

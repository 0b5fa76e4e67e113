"""Fair queue: studies of equal priority are claimed round-robin by study, on SQLite and PostgreSQL.

Before migration 0008 every job of the first study ran before the first job of the second, so for half of the
demo one side of the comparison was empty. These tests pin the claim order (one job of each study per round,
smaller studies dropping out when they run dry, priority still first) and that the order holds — every job
still claimed exactly once — when several worker processes claim at the same time.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter

import pytest
import sqlalchemy as sa

from backend.services.sampling import queue_samples
from backend.services.studies import StudyIn, create_study
from db import queue
from db.models import jobs, models

SIZES = {"a": 5, "b": 3, "c": 4}


def three_studies(engine, sizes: dict[str, int] = SIZES) -> dict[int, str]:
    """Three studies queued one after the other (a's jobs get the lowest ids); {study_id: name}."""
    out = {}
    for name, n in sizes.items():
        sid = create_study(engine, StudyIn(name=name, space="RegNetX", seed=3))["id"]
        assert queue_samples(engine, sid, n)["queued"] == n
        out[sid] = name
    return out


def test_equal_priority_studies_are_claimed_round_robin(db_engine):
    names = three_studies(db_engine)
    w = queue.register_worker(db_engine, "cpu", host="h", pid=1)
    claimed = []
    while (job := queue.claim_job(db_engine, w, 60)) is not None:
        claimed.append((names[job.study_id], job.model_index))
    assert claimed == [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2), ("c", 2),
                       ("a", 3), ("c", 3), ("a", 4)]


def test_the_demo_pair_fills_evenly(db_engine):
    """The issue's case: the demo's two studies take turns, so both sides of the comparison fill from the start."""
    from backend.services.demo import seed_demo

    seeded = seed_demo(db_engine)
    names = {s.id: s.name for s in seeded.studies}
    w = queue.register_worker(db_engine, "cpu", host="h", pid=1)
    first = [names[queue.claim_job(db_engine, w, 60).study_id] for _ in range(8)]
    assert first == ["demo RegNetX", "demo AnyNetX_A"] * 4


def test_priority_beats_rounds_and_a_late_study_catches_up(db_engine):
    names = three_studies(db_engine, {"a": 4, "b": 4})
    w = queue.register_worker(db_engine, "cpu", host="h", pid=1)
    first = [queue.claim_job(db_engine, w, 60) for _ in range(4)]
    assert [(names[j.study_id], j.model_index) for j in first] == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    late = create_study(db_engine, StudyIn(name="late", space="RegNetX", seed=3))["id"]
    queue_samples(db_engine, late, 3)
    urgent = create_study(db_engine, StudyIn(name="urgent", space="RegNetX", seed=4))["id"]
    queue_samples(db_engine, urgent, 2, priority=5)
    names |= {late: "late", urgent: "urgent"}
    rest = []
    while (job := queue.claim_job(db_engine, w, 60)) is not None:
        rest.append((names[job.study_id], job.model_index))
    # priority first; then the study queued late has its rounds 0 and 1 before a and b go on with round 2
    assert rest == [("urgent", 0), ("urgent", 1), ("late", 0), ("late", 1), ("a", 2), ("b", 2), ("late", 2),
                    ("a", 3), ("b", 3)]


def test_requeued_job_keeps_its_round_and_the_jobs_list_shows_claim_order(db_engine):
    names = three_studies(db_engine, {"a": 3, "b": 3})
    w = queue.register_worker(db_engine, "cpu", host="h", pid=1)
    j = queue.claim_job(db_engine, w, 60)
    assert queue.fail_job(db_engine, j.job_id, w, "boom") == "queued"
    again = queue.claim_job(db_engine, w, 60)
    assert again.job_id == j.job_id and again.attempt == 2  # round 0 is still first in line
    from backend.services.jobs import list_jobs
    listed = [(names[r["study_id"]], r["model_id"]) for r in list_jobs(db_engine, status=["queued"])["items"]]
    with db_engine.connect() as conn:
        index = dict(conn.execute(sa.select(models.c.id, models.c.index)).all())
    assert [(s, index[m]) for s, m in listed] == [("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]


# ------------------------------------------------------------------------------------- concurrent claimers

def claimer(url: str, name: str, quota: int, out) -> None:
    """One worker process: claim up to `quota` jobs (0: until the queue is empty); report the job ids."""
    from db.engine import make_engine

    engine = make_engine(url)
    wid = queue.register_worker(engine, "cpu", host=name)
    got = []
    while quota == 0 or len(got) < quota:
        job = queue.claim_job(engine, wid, 120)
        if job is None:
            break
        got.append(job.job_id)
    engine.dispose()
    out.put((name, got))


def run_claimers(url: str, processes: int, quota: int) -> list[int]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=claimer, args=(url, f"w{i}", quota, out)) for i in range(processes)]
    for p in procs:
        p.start()
    logs = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return [j for _, got in logs for j in got]


def fair_under_concurrency(url: str, processes: int) -> None:
    """Claimers take 4 rounds' worth of jobs at once: exactly rounds 0..3 of every study are claimed (a claim
    skips a row only while another claimer is taking it); then they drain the queue, each job once."""
    from db.engine import make_engine
    from db.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    sizes = {"a": 12, "b": 9, "c": 10}
    names = three_studies(engine, sizes)
    engine.dispose()  # forked children open their own connections
    first = run_claimers(url, processes, quota=12 // processes)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(jobs.c.id, jobs.c.claim_round, models.c.study_id)
                            .join(models, models.c.id == jobs.c.model_id)).all()
    where = {r.id: (names[r.study_id], r.claim_round) for r in rows}
    assert len(first) == len(set(first)) == 12
    assert sorted(where[j] for j in first) == sorted((s, k) for s in "abc" for k in range(4))
    engine.dispose()
    rest = run_claimers(url, processes, quota=0)
    everything = Counter(first + rest)
    assert set(everything) == set(where) and set(everything.values()) == {1}  # each job claimed exactly once
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)).all() == [
            ("running", sum(sizes.values()))]
    engine.dispose()


@pytest.mark.slow
def test_concurrent_claimers_keep_the_rounds_and_exactly_once_on_postgresql(pg_url):
    fair_under_concurrency(pg_url, 4)


@pytest.mark.slow
def test_concurrent_claimers_keep_the_rounds_and_exactly_once_on_sqlite(sqlite_url):
    fair_under_concurrency(sqlite_url, 3)

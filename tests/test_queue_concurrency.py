"""Many worker processes on one queue: every job done exactly once, none lost (real processes, real databases).

PostgreSQL: 8 processes claim and complete 1,000 jobs (FOR UPDATE SKIP LOCKED). SQLite: 4 processes, 1,000
jobs (BEGIN IMMEDIATE). Every tenth job fails its first attempt, so retries interleave with claims, and every
worker also runs requeue_expired between jobs as the real loop does.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from backend.services.sampling import queue_samples
from backend.services.studies import StudyIn, create_study
from db.models import jobs, results

N_JOBS = 1000


def worker_main(url: str, name: str, out) -> None:
    """One worker process: claim until the queue is empty; report (job_id, attempt, outcome) per claim."""
    from db import queue
    from db.engine import make_engine

    engine = make_engine(url)
    wid = queue.register_worker(engine, "cpu", host=name)
    log = []
    idle = 0
    while idle < 3:
        job = queue.claim_job(engine, wid, 120)
        if job is None:
            idle += 1
            time.sleep(0.05)
            continue
        idle = 0
        queue.heartbeat(engine, job.job_id, wid, 120)
        if job.job_id % 10 == 0 and job.attempt == 1:
            log.append((job.job_id, job.attempt, queue.fail_job(engine, job.job_id, wid, "first attempt fails")))
        else:
            ok = queue.complete_job(engine, job.job_id, wid,
                                    {"test_error": [50.0, job.job_id / 100], "device": name})
            log.append((job.job_id, job.attempt, "done" if ok else "lost"))
        queue.requeue_expired(engine)
    engine.dispose()
    out.put((name, log))


def run_fleet(url: str, processes: int) -> None:
    from db.engine import make_engine
    from db.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    sid = create_study(engine, StudyIn(name="fleet", space="RegNetX"))["id"]
    assert queue_samples(engine, sid, N_JOBS)["queued"] == N_JOBS
    engine.dispose()  # forked children open their own connections; none may inherit an open one
    ctx = mp.get_context("fork")  # real processes, started without re-importing everything
    out = ctx.Queue()
    procs = [ctx.Process(target=worker_main, args=(url, f"w{i}", out)) for i in range(processes)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    logs = dict(out.get(timeout=240) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    elapsed = time.monotonic() - t0

    claims = [(j, a, outcome) for log in logs.values() for j, a, outcome in log]
    assert not [c for c in claims if c[2] == "lost"]
    done = Counter(j for j, _, outcome in claims if outcome == "done")
    assert len(done) == N_JOBS and set(done.values()) == {1}  # every job completed exactly once
    assert Counter((j, a) for j, a, _ in claims).most_common(1)[0][1] == 1  # no attempt claimed twice
    retried = {j for j, _, outcome in claims if outcome == "queued"}
    assert retried == {j for j in done if j % 10 == 0}
    assert sum(1 for log in logs.values() if log) >= 2, "the work was not shared between processes"
    with engine.connect() as conn:
        assert conn.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)).all() == [
            ("done", N_JOBS)]
        assert conn.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(results.c.job_id)))
                            .select_from(results)).one() == (N_JOBS, N_JOBS)
        attempts = dict(conn.execute(sa.select(jobs.c.id, jobs.c.attempts)).all())
    assert {j for j, a in attempts.items() if a} == retried
    engine.dispose()
    print(f"{processes} processes, {N_JOBS} jobs: {elapsed:.1f}s "
          f"({', '.join(f'{k}: {len(v)}' for k, v in sorted(logs.items()))})")


@pytest.mark.slow
def test_eight_processes_share_a_thousand_jobs_on_postgresql(pg_url):
    run_fleet(pg_url, 8)


@pytest.mark.slow
def test_four_processes_share_a_thousand_jobs_on_sqlite(sqlite_url):
    run_fleet(sqlite_url, 4)

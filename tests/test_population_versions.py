"""Per-study data versions: a change in one study never costs another study's cached population a read, and a
study's own changes patch its cached population (the changed rows re-read) to exactly what a full read gives."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import finish_jobs
from sqlalchemy import select, update

from backend.services import population as popmod
from backend.services.population import cached_population, load_population
from backend.services.sampling import queue_samples
from backend.services.studies import StudyIn, create_study
from db.events import append_event, prune_events
from db.models import jobs, models
from db.queue import cancel_job, claim_job, record_epoch, register_worker


def _study(engine, name: str, n: int = 12) -> int:
    return create_study(engine, StudyIn(name=name, space="RegNetX", n=n, regime={"flops": [None, "5M"]}))["id"]


def _loads() -> tuple[int, int]:
    return popmod.LOADS["full"], popmod.LOADS["update"]


def _same(a, b) -> None:
    """Two populations hold the same rows and values (NaN equal to NaN)."""
    assert a.names == b.names and len(a) == len(b)
    for name in a.names:
        x, y = a[name], b[name]
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            assert x.tolist() == y.tolist(), name


def _jobs_of(engine, study_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(jobs.c.id).join(models, models.c.id == jobs.c.model_id)
                                 .where(models.c.study_id == study_id).order_by(jobs.c.id)).scalars())


def test_a_change_in_one_study_keeps_the_others_cache(db_engine, db_url):
    a, b = _study(db_engine, "a"), _study(db_engine, "b")
    finish_jobs(db_url, a, [0.3, 0.2])
    first = cached_population(db_engine, a)
    before = _loads()
    finish_jobs(db_url, b, [0.5, 0.4, 0.6])  # results, claims, job events: all in study b
    cancel_job(db_engine, _jobs_of(db_engine, b)[-1])
    assert cached_population(db_engine, a) is first and _loads() == before  # no read at all

    wid = register_worker(db_engine, "cpu")
    job = claim_job(db_engine, wid, study_id=a)
    after_claim = cached_population(db_engine, a)
    assert _loads() == (before[0], before[1] + 1)  # the claim changed a's own rows: patched, not read whole
    record_epoch(db_engine, job.job_id, wid, {"epoch": 1, "train_loss": 1.0})  # live curves are not data
    assert cached_population(db_engine, a) is after_claim and _loads() == (before[0], before[1] + 1)


def test_patched_population_equals_a_full_read(db_engine, db_url):
    a = _study(db_engine, "patched", n=20)
    cached_population(db_engine, a)
    full = popmod.LOADS["full"]
    finish_jobs(db_url, a, [0.25, 0.125, 0.5])
    cancel_job(db_engine, _jobs_of(db_engine, a)[-1])
    wid = register_worker(db_engine, "cpu")
    claim_job(db_engine, wid, study_id=a)  # one running
    queue_samples(db_engine, a, 5, seed=1)  # new models appended to the study
    finish_jobs(db_url, a, [0.75])
    got = cached_population(db_engine, a)
    assert popmod.LOADS["full"] == full, "every change above should have been a patch"
    fresh = load_population(db_engine, a)
    assert len(got) == 25
    _same(got, fresh)
    assert sorted(got["status"].tolist()) == sorted(fresh["status"].tolist())
    assert np.nanmin(got["error"]) == 0.125


def test_a_pruned_log_reads_the_population_whole(db_engine, db_url):
    a = _study(db_engine, "pruned")
    cached_population(db_engine, a)
    finish_jobs(db_url, a, [0.3])
    prune_events(db_engine, keep_rows=0)  # what changed since the cached version is no longer in the log
    finish_jobs(db_url, a, [0.2])
    full = popmod.LOADS["full"]
    got = cached_population(db_engine, a)
    assert popmod.LOADS["full"] == full + 1
    _same(got, load_population(db_engine, a))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_commit_landing_behind_a_newer_event_is_seen(db_engine):
    """PostgreSQL numbers an event when it is inserted, not when it commits: a transaction holding an older id
    commits after a newer one was read. The version still moves, and the patch still re-reads its model."""
    a = _study(db_engine, "late")
    first, second = _jobs_of(db_engine, a)[:2]
    cached_population(db_engine, a)
    with db_engine.connect() as slow:
        tx = slow.begin()
        row = slow.execute(update(jobs).where(jobs.c.id == first).values(status="cancelled")
                           .returning(jobs.c.model_id)).one()
        append_event(slow, "job", study_id=a, job_id=first, model_id=row.model_id, payload={"status": "cancelled"})
        cancel_job(db_engine, second)  # a later event id, committed first
        seen = cached_population(db_engine, a)
        assert dict(zip(seen["id"].tolist(), seen["status"].tolist(), strict=True))[row.model_id] == "queued"
        tx.commit()
    got = cached_population(db_engine, a)
    assert dict(zip(got["id"].tolist(), got["status"].tolist(), strict=True))[row.model_id] == "cancelled"
    _same(got, load_population(db_engine, a))

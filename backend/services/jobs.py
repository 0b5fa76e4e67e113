"""Jobs and workers for operators: list, cancel, requeue; queue health."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, bindparam, func, select

from backend import __version__
from db import queue
from db.engine import db_kind
from db.events import queue_version_columns
from db.models import JOB_STATUSES, jobs, models, studies, utcnow, workers

from .errors import Conflict, InvalidInput, NotFound
from .popcache import VersionedCache
from .views import Health

JOB_COLUMNS = (jobs.c.id, jobs.c.model_id, models.c.study_id, studies.c.name.label("study_name"), jobs.c.status,
               jobs.c.priority, jobs.c.attempts, jobs.c.max_attempts, jobs.c.worker_id, jobs.c.lease_until,
               jobs.c.last_error, jobs.c.epochs_done, jobs.c.queued_at, jobs.c.started_at, jobs.c.finished_at)
#: a worker counts as alive when it heartbeat within this many seconds (workers beat every lease/8 s, 15 s by
#: default, busy or idle; a worker killed without unregistering drops out of the count after this long)
ALIVE_SECONDS = 300


def _iso(d: dict[str, Any]) -> dict[str, Any]:
    for k, v in d.items():
        if isinstance(v, dt.datetime):
            d[k] = v.isoformat() + "Z"
    return d


def list_jobs(engine: Engine, status: list[str] | None = None, study_id: int | None = None,
              worker_id: str | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Jobs in claim order (priority, round, then age), with the total, and per-status counts of the jobs the other
    filters (study, worker) select."""
    scope = []
    if study_id is not None:
        scope.append(models.c.study_id == study_id)
    if worker_id is not None:
        scope.append(jobs.c.worker_id == worker_id)
    terms = list(scope)
    if status:
        bad = [s for s in status if s not in JOB_STATUSES]
        if bad:
            raise InvalidInput(f"unknown {bad}; allowed: {', '.join(JOB_STATUSES)}", "status")
        terms.append(jobs.c.status.in_(status))
    src = jobs.join(models, models.c.id == jobs.c.model_id).join(studies, studies.c.id == models.c.study_id)
    with engine.connect() as conn:
        rows = conn.execute(select(*JOB_COLUMNS).select_from(src).where(*terms)
                            .order_by(jobs.c.priority.desc(), jobs.c.claim_round, jobs.c.id)
                            .limit(limit).offset(offset)).mappings()
        items = [_iso(dict(r)) for r in rows]
        total = conn.execute(select(func.count()).select_from(src).where(*terms)).scalar_one()
        counts = dict.fromkeys(JOB_STATUSES, 0)
        counts.update(dict(conn.execute(select(jobs.c.status, func.count()).select_from(src).where(*scope)
                                        .group_by(jobs.c.status)).all()))
    return {"total": total, "limit": limit, "offset": offset, "counts": counts, "items": items}


def get_job(engine: Engine, job_id: int) -> dict[str, Any]:
    src = jobs.join(models, models.c.id == jobs.c.model_id).join(studies, studies.c.id == models.c.study_id)
    with engine.connect() as conn:
        row = conn.execute(select(*JOB_COLUMNS, jobs.c.progress).select_from(src)
                           .where(jobs.c.id == job_id)).mappings().first()
    if row is None:
        raise NotFound(f"job {job_id} not found", "job_id")
    return _iso(dict(row))


def _operate(engine: Engine, job_id: int, changed_by: Callable[[], bool], allowed: str) -> dict[str, Any]:
    """Run a queue transition; 404 for an unknown job, 409 naming the state when the transition is not allowed."""
    try:
        changed = changed_by()
    except queue.JobNotFound:
        raise NotFound(f"job {job_id} not found", "job_id") from None
    job = get_job(engine, job_id)
    if not changed:
        raise Conflict(f"job {job_id} is {job['status']}; only {allowed} jobs can be changed this way", "job_id")
    return job


def cancel(engine: Engine, job_id: int) -> dict[str, Any]:
    """queued/running -> cancelled."""
    return _operate(engine, job_id, lambda: queue.cancel_job(engine, job_id), "queued or running")


def requeue(engine: Engine, job_id: int, priority: int | None = None) -> dict[str, Any]:
    """failed/cancelled -> queued (attempts reset)."""
    return _operate(engine, job_id, lambda: queue.requeue_job(engine, job_id, priority), "failed or cancelled")


def list_workers(engine: Engine, alive_seconds: float = ALIVE_SECONDS) -> list[dict[str, Any]]:
    cutoff = utcnow() - dt.timedelta(seconds=alive_seconds)  # the same test as count_alive
    with engine.connect() as conn:
        rows = conn.execute(select(workers).order_by(workers.c.started_at.desc())).mappings().all()
    out = []
    for r in rows:
        d = dict(r)
        d["alive"] = d["status"] in ("idle", "busy") and d["heartbeat_at"] >= cutoff
        out.append(_iso(d))
    return out


#: live workers' count, as of bind parameter p_cutoff (their oldest heartbeat still counted)
_ALIVE = select(func.count()).select_from(workers).where(workers.c.status.in_(("idle", "busy")),
                                                         workers.c.heartbeat_at >= bindparam("p_cutoff"))


def _cutoff(alive_seconds: float = ALIVE_SECONDS) -> dict[str, dt.datetime]:
    return {"p_cutoff": utcnow() - dt.timedelta(seconds=alive_seconds)}


def count_alive(engine: Engine, alive_seconds: float = ALIVE_SECONDS) -> int:
    """Workers idle or busy with a heartbeat in the last `alive_seconds`: what the dashboard's "no worker is
    running" notice reads (a count in SQL: the workers table gains a row at every worker start)."""
    with engine.connect() as conn:
        return int(conn.execute(_ALIVE, _cutoff(alive_seconds)).scalar_one())


#: jobs per status by database, keyed by db.events.queue_version_columns: counting them groups every job (a tenth
#: of a second at 10^6), while the version is three index look-ups, and /api/health is what monitors and the
#: dashboard poll
_QUEUE_COUNTS: VersionedCache[dict[str, int]] = VersionedCache(8)
#: the queue's version and the live workers in one statement, built once (see db.events._STUDY_VERSION)
_HEALTH = select(*queue_version_columns(), _ALIVE.scalar_subquery())


def health(engine: Engine) -> Health:
    """Version, database kind, queue counts and live workers (also a liveness probe of the database)."""
    with engine.connect() as conn:  # one statement (one round trip) unless the queue changed since the last call
        *version, alive = conn.execute(_HEALTH, _cutoff()).one()
        key = (engine.url.render_as_string(), tuple(version))
        counts = _QUEUE_COUNTS.get_or_load(key, lambda: queue.queue_counts(conn))
    return Health(status="ok", version=__version__, database=db_kind(engine), queue=counts, workers_alive=alive,
                  alive_seconds=ALIVE_SECONDS)

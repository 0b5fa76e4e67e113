"""The job queue: claim with a lease, heartbeat, report epochs, complete, fail, release, expire, cancel, requeue.

Used by worker processes (workers/) and by the server; it talks SQL only. Every function takes `db` — an
Engine or a sessionmaker bound to one — first, runs in its own short transaction (write transactions take
SQLite's write lock at BEGIN; see db.engine), and appends an event (db.events) in that same transaction for
every state change, so the dashboard sees exactly what was committed.

State machine of `jobs.status`:

    queued --claim_job--> running --complete_job--> done
    running --fail_job / lease expiry--> queued (attempts + 1), or failed once attempts reach max_attempts
    running --release_job--> queued (no penalty: graceful shutdown)
    queued|running --cancel_job--> cancelled;  failed|cancelled --requeue_job--> queued (attempts reset)

`attempts` counts attempts that ended badly (failure or an expired lease); the attempt being made is
attempts + 1. Only the worker that holds a running job (same worker_id, status still running) can extend,
report, complete, fail or release it: those calls return False when the job was taken away (lease expired
and requeued, cancelled, or study deleted) and then write nothing — the worker should drop the job. A result
row is unique per model and per job, so even a stale worker racing the new holder cannot write twice.

Clocks: leases compare naive-UTC timestamps written by the hosts, so hosts of one fleet need NTP-synced clocks.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Integer, bindparam, case, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from .engine import write_tx
from .events import append_event, append_events, event_row
from .models import FINAL_STATUSES, JOB_STATUSES, jobs, models, results, studies, utcnow, workers

MAX_ERROR_TEXT = 20_000
RESULT_FIELDS = ("error", "error_final", "diverged", "train_loss", "train_error", "test_error", "train_seconds",
                 "infer_ms", "device", "initial_loss", "did_not_learn")

Db = Engine | sessionmaker


@dataclass(frozen=True)
class ClaimedJob:
    """Everything a worker needs to train one model, read in the claiming transaction.

    `config` is the canonical model config JSON (backend.designspace.config.AnyNetConfig for arch_type
    'anynet'); `dataset`/`recipe` are backend.study_spec.DatasetSpec/Recipe JSON; the job's training seed is
    backend.study_spec.job_seed(study_seed, model_index).
    """

    job_id: int
    model_id: int
    study_id: int
    attempt: int
    max_attempts: int
    lease_until: dt.datetime
    config: dict[str, Any]
    arch_type: str
    flops: int
    params: int
    dataset: dict[str, Any]
    recipe: dict[str, Any]
    im_size: int
    num_classes: int
    study_seed: int
    model_index: int


def _engine(db: Db) -> Engine:
    if isinstance(db, Engine):
        return db
    bind = db.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("db: need an Engine or a sessionmaker bound to one")
    return bind


def _lease(now: dt.datetime, lease_seconds: float) -> dt.datetime:
    if not lease_seconds > 0:
        raise ValueError(f"lease_seconds: must be > 0 (got {lease_seconds})")
    return now + dt.timedelta(seconds=lease_seconds)


def _job_event(conn: Connection, row, prev: str, now: dt.datetime, **extra: Any) -> None:
    append_event(conn, "job", study_id=row.study_id, job_id=row.id, model_id=row.model_id, now=now,
                 payload={"status": row.status, "prev": prev, "attempts": row.attempts, **extra})


# ---------------------------------------------------------------------------------------------- workers

def register_worker(db: Db, device: str, *, host: str | None = None, pid: int | None = None,
                    worker_id: str | None = None) -> str:
    """Create (or revive) a worker row and return its id (default "host:pid:random").

    Workers call this once at start; ids are strings so that a restarted worker is a new worker.
    """
    engine = _engine(db)
    host = host or socket.gethostname()
    pid = os.getpid() if pid is None else pid
    worker_id = worker_id or f"{host}:{pid}:{uuid.uuid4().hex[:8]}"
    now = utcnow()
    with write_tx(engine) as conn:
        exists = conn.execute(select(workers.c.id).where(workers.c.id == worker_id)).first()
        values = {"host": host, "pid": pid, "device": device, "status": "idle", "current_job_id": None,
                  "heartbeat_at": now}
        if exists:
            conn.execute(update(workers).where(workers.c.id == worker_id).values(**values))
        else:
            conn.execute(insert(workers).values(id=worker_id, started_at=now, **values))
        append_event(conn, "worker", now=now, payload={"worker_id": worker_id, "status": "idle", "host": host,
                                                         "device": device})
    return worker_id


def worker_heartbeat(db: Db, worker_id: str) -> bool:
    """Mark an (idle) worker alive; False when the row is gone. Busy workers are kept alive by heartbeat()."""
    with write_tx(_engine(db)) as conn:
        n = conn.execute(update(workers).where(workers.c.id == worker_id).values(heartbeat_at=utcnow())).rowcount
    return n == 1


def unregister_worker(db: Db, worker_id: str) -> None:
    """Mark the worker stopped (call release_job first for a job it still holds)."""
    now = utcnow()
    with write_tx(_engine(db)) as conn:
        conn.execute(update(workers).where(workers.c.id == worker_id)
                     .values(status="stopped", current_job_id=None, heartbeat_at=now))
        append_event(conn, "worker", now=now, payload={"worker_id": worker_id, "status": "stopped"})


# ---------------------------------------------------------------------------------------------- statements
# Built once: constructing SQLAlchemy expressions on every call costs more than running them, and workers call
# these functions in a tight loop. Bound parameters are named p_* (column names are reserved for VALUES).

J = jobs.c
_HELD = (J.id == bindparam("p_job")) & (J.status == "running") & (J.worker_id == bindparam("p_worker"))
_RETURNED = (J.id, J.model_id, J.status, J.attempts)
_EXTEND = update(jobs).where(_HELD).values(lease_until=bindparam("p_lease"))
_WORKER_SEEN = update(workers).where(workers.c.id == bindparam("p_worker")).values(heartbeat_at=bindparam("p_now"))
_WORKER_STATE = update(workers).where(workers.c.id == bindparam("p_worker")).values(
    status=bindparam("p_wstatus"), current_job_id=bindparam("p_current", type_=Integer),
    heartbeat_at=bindparam("p_now"))
_STUDY_OF = select(models.c.study_id).where(models.c.id == bindparam("p_model"))
_PROGRESS = select(J.progress, J.model_id).where(_HELD)
_SET_PROGRESS = update(jobs).where(_HELD).values(
    progress=bindparam("p_progress", type_=jobs.c.progress.type), epochs_done=bindparam("p_epochs"),
    lease_until=func.coalesce(bindparam("p_lease", type_=DateTime), J.lease_until))
_DONE = update(jobs).where(_HELD).values(
    status="done", finished_at=bindparam("p_now"), lease_until=None,
    epochs_done=func.coalesce(bindparam("p_epochs", type_=Integer), J.epochs_done)).returning(*_RETURNED)
_ADD_RESULT = insert(results)
_CLAIMED = (select(J.id, J.model_id, J.status, J.attempts, J.max_attempts, models.c.study_id, models.c.index,
                   models.c.config, models.c.arch_type, models.c.flops, models.c.params, studies.c.dataset,
                   studies.c.recipe, studies.c.im_size, studies.c.num_classes, studies.c.seed)
            .join(models, models.c.id == J.model_id).join(studies, studies.c.id == models.c.study_id)
            .where(J.id == bindparam("p_job")))
_claims: dict[tuple[bool, bool], Any] = {}


def _claim_statement(postgres: bool, by_study: bool):
    """UPDATE jobs SET running ... WHERE id = (next queued id [FOR UPDATE SKIP LOCKED]) RETURNING id."""
    key = (postgres, by_study)
    if key not in _claims:
        pick = select(J.id).where(J.status == "queued")
        if by_study:
            pick = pick.where(J.model_id.in_(select(models.c.id).where(models.c.study_id == bindparam("p_study"))))
        pick = pick.order_by(J.priority.desc(), J.claim_round, J.id).limit(1)
        if postgres:
            pick = pick.with_for_update(skip_locked=True)
        _claims[key] = update(jobs).where((J.id == pick.scalar_subquery()) & (J.status == "queued")).values(
            status="running", worker_id=bindparam("p_worker"), lease_until=bindparam("p_lease"),
            started_at=bindparam("p_now"), finished_at=None, epochs_done=0, progress=None).returning(J.id)
    return _claims[key]


# ---------------------------------------------------------------------------------------------- claiming

def claim_job(db: Db, worker_id: str, lease_seconds: float = 120.0, *, study_id: int | None = None
              ) -> ClaimedJob | None:
    """Claim the next queued job for `worker_id`, or None when none is queued.

    Order: highest priority, then lowest claim_round, then oldest. A study's k-th job has round k, so studies
    of equal priority are served round-robin (the demo pair and a refine child's siblings fill evenly); a study
    queued later catches up with the rounds the others have already had.

    Exactly one job per transaction: PostgreSQL locks the chosen row with `FOR UPDATE SKIP LOCKED` (concurrent
    claimers pass over it); SQLite holds the single write lock from BEGIN IMMEDIATE. The job becomes running
    with lease_until = now + lease_seconds; keep it alive with heartbeat() well inside the lease.
    `study_id` restricts the claim to one study.
    """
    engine = _engine(db)
    now = utcnow()
    lease_until = _lease(now, lease_seconds)
    stmt = _claim_statement(engine.dialect.name == "postgresql", study_id is not None)
    params = {"p_worker": worker_id, "p_lease": lease_until, "p_now": now}
    if study_id is not None:
        params["p_study"] = study_id
    with write_tx(engine) as conn:
        job_id = conn.execute(stmt, params).scalar()
        if job_id is None:
            return None
        conn.execute(_WORKER_STATE, {"p_worker": worker_id, "p_wstatus": "busy", "p_current": job_id, "p_now": now})
        row = conn.execute(_CLAIMED, {"p_job": job_id}).one()
        _job_event(conn, row, "queued", now, worker_id=worker_id)
    return ClaimedJob(
        job_id=row.id, model_id=row.model_id, study_id=row.study_id, attempt=row.attempts + 1,
        max_attempts=row.max_attempts, lease_until=lease_until, config=row.config, arch_type=row.arch_type,
        flops=row.flops, params=row.params, dataset=row.dataset, recipe=row.recipe, im_size=row.im_size,
        num_classes=row.num_classes, study_seed=row.seed,
        model_index=row._mapping["index"])  # row.index would read as the tuple method to a type checker


def heartbeat(db: Db, job_id: int, worker_id: str, lease_seconds: float = 120.0) -> bool:
    """Extend the lease to now + lease_seconds. False when this worker no longer holds the job: stop working on it."""
    now = utcnow()
    with write_tx(_engine(db)) as conn:
        held = conn.execute(_EXTEND, {"p_job": job_id, "p_worker": worker_id,
                                      "p_lease": _lease(now, lease_seconds)}).rowcount == 1
        conn.execute(_WORKER_SEEN, {"p_worker": worker_id, "p_now": now})
    return held


def record_epoch(db: Db, job_id: int, worker_id: str, metrics: dict[str, Any],
                 lease_seconds: float | None = None) -> bool:
    """Append one epoch's metrics (e.g. {"epoch": 0, "train_loss": .., "train_error": .., "test_error": ..,
    "lr": ..}) to the job's live progress, set epochs_done, and extend the lease when lease_seconds is given.

    False (nothing written) when this worker no longer holds the job.
    """
    now = utcnow()
    metrics = _finite(metrics)
    held = {"p_job": job_id, "p_worker": worker_id}
    with write_tx(_engine(db)) as conn:
        row = conn.execute(_PROGRESS, held).first()
        if row is None:
            return False
        progress = [*(row.progress or []), metrics]
        lease = _lease(now, lease_seconds) if lease_seconds is not None else None
        conn.execute(_SET_PROGRESS, {**held, "p_progress": progress, "p_epochs": len(progress), "p_lease": lease})
        append_event(conn, "epoch", study_id=conn.execute(_STUDY_OF, {"p_model": row.model_id}).scalar(),
                     job_id=job_id, model_id=row.model_id, now=now,
                     payload={"epoch": len(progress) - 1, "metrics": metrics})
    return True


def complete_job(db: Db, job_id: int, worker_id: str, result: dict[str, Any],
                 derived: dict[str, float | None] | None = None) -> bool:
    """Write the job's result and mark it done, atomically. Returns False — and writes nothing — when this
    worker no longer holds the job or a result already exists for it.

    `derived`: values the worker derived from the model's config ({"e_fit": ...}; see services.derived),
    stored on the model in the same transaction.

    `result` keys (all optional): error (headline top-1 error in percent; default min of test_error),
    error_final (default the last test_error), diverged, train_loss/train_error/test_error (per-epoch lists),
    train_seconds, infer_ms, device, initial_loss (the first batch's loss), did_not_learn (the trainer's flag,
    backend.analysis.failures; null when unknown). Non-finite numbers are stored as null. Unknown keys raise
    ValueError.
    """
    values = result_values(result)
    now = utcnow()
    try:
        with write_tx(_engine(db)) as conn:
            job = conn.execute(_DONE, {"p_job": job_id, "p_worker": worker_id, "p_now": now,
                                       "p_epochs": len(values["test_error"]) if values["test_error"] else None}
                               ).first()
            if job is None:  # not ours any more: the no-op transaction commits nothing
                return False
            conn.execute(_ADD_RESULT, [{"model_id": job.model_id, "job_id": job_id, "created_at": now, **values}])
            if derived is not None:
                conn.execute(update(models).where(models.c.id == job.model_id)
                             .values(e_fit=derived.get("e_fit"), derived=True))
            conn.execute(_WORKER_STATE, {"p_worker": worker_id, "p_wstatus": "idle", "p_current": None, "p_now": now})
            where = {"study_id": conn.execute(_STUDY_OF, {"p_model": job.model_id}).scalar(), "job_id": job_id,
                     "model_id": job.model_id, "now": now}
            append_events(conn, [
                event_row("job", **where, payload={"status": "done", "prev": "running", "attempts": job.attempts,
                                                   "worker_id": worker_id}),
                event_row("result", **where, payload={"error": values["error"], "diverged": values["diverged"],
                                                      "did_not_learn": values["did_not_learn"]})])
    except IntegrityError:  # a result for this model or job exists already: the transaction rolled back
        return False
    return True


_NEXT = J.attempts + 1
_OUT_OF_ATTEMPTS = J.max_attempts <= _NEXT
_FAIL = update(jobs).where(_HELD).values(
    attempts=_NEXT, status=case((_OUT_OF_ATTEMPTS, "failed"), else_="queued"), last_error=bindparam("p_error"),
    worker_id=None, lease_until=None, finished_at=case((_OUT_OF_ATTEMPTS, bindparam("p_now")), else_=None),
).returning(*_RETURNED)
_RELEASE = update(jobs).where(_HELD).values(
    status="queued", worker_id=None, lease_until=None, started_at=None, epochs_done=0, progress=None,
).returning(*_RETURNED)
_EXPIRE = update(jobs).where((J.status == "running") & (J.lease_until < bindparam("p_now"))).values(
    attempts=_NEXT, status=case((_OUT_OF_ATTEMPTS, "failed"), else_="queued"),
    last_error=literal("lease expired on worker ") + func.coalesce(J.worker_id, "?"), worker_id=None,
    lease_until=None, finished_at=case((_OUT_OF_ATTEMPTS, bindparam("p_now")), else_=None),
).returning(*_RETURNED, J.last_error)


def _handed_back(conn: Connection, row, worker_id: str, now: dt.datetime, **payload: Any) -> None:
    """The worker is idle again; log the job's new state."""
    conn.execute(_WORKER_STATE, {"p_worker": worker_id, "p_wstatus": "idle", "p_current": None, "p_now": now})
    append_event(conn, "job", study_id=conn.execute(_STUDY_OF, {"p_model": row.model_id}).scalar(), job_id=row.id,
                 model_id=row.model_id, now=now, payload={"status": row.status, "prev": "running",
                                                          "attempts": row.attempts, "worker_id": worker_id, **payload})


def fail_job(db: Db, job_id: int, worker_id: str, error: str) -> str | None:
    """Record a failed attempt: attempts + 1; back to 'queued' while attempts < max_attempts, else 'failed'.
    `error` is kept as last_error either way. Returns the new status, or None when this worker did not hold it.
    """
    now = utcnow()
    error = str(error)[:MAX_ERROR_TEXT]
    with write_tx(_engine(db)) as conn:
        row = conn.execute(_FAIL, {"p_job": job_id, "p_worker": worker_id, "p_error": error, "p_now": now}).first()
        if row is None:
            return None
        _handed_back(conn, row, worker_id, now, error=error[:500])
    return row.status


def release_job(db: Db, job_id: int, worker_id: str) -> bool:
    """Graceful shutdown: put a job this worker holds back in the queue without counting an attempt."""
    now = utcnow()
    with write_tx(_engine(db)) as conn:
        row = conn.execute(_RELEASE, {"p_job": job_id, "p_worker": worker_id}).first()
        if row is None:
            return False
        _handed_back(conn, row, worker_id, now, released=True)
    return True


def requeue_expired(db: Db, now: dt.datetime | None = None) -> int:
    """Running jobs whose lease ended before `now` go back to 'queued' with attempts + 1, or to 'failed' once
    attempts reach max_attempts (last_error says whose lease expired). Their workers are marked 'lost'.
    Returns how many jobs were taken back. Safe to call from any process, any time (server and workers do).
    """
    now = now or utcnow()
    with write_tx(_engine(db)) as conn:
        rows = conn.execute(_EXPIRE, {"p_now": now}).all()
        if not rows:
            return 0
        conn.execute(update(workers).where(workers.c.current_job_id.in_([r.id for r in rows]))
                     .values(status="lost", current_job_id=None))
        study_of = dict(conn.execute(select(models.c.id, models.c.study_id)
                                     .where(models.c.id.in_([r.model_id for r in rows]))).all())
        append_events(conn, [event_row("job", study_id=study_of.get(r.model_id), job_id=r.id, model_id=r.model_id,
                                       now=now, payload={"status": r.status, "prev": "running",
                                                         "attempts": r.attempts, "error": r.last_error})
                             for r in rows])
    return len(rows)


# ---------------------------------------------------------------------------------------------- operators

class JobNotFound(LookupError):
    """No job with that id."""


def _transition(db: Db, job_id: int, allowed_from: tuple[str, ...], values: dict[str, Any]) -> bool:
    now = utcnow()
    with write_tx(_engine(db)) as conn:
        cur = conn.execute(select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
        if cur is None:
            raise JobNotFound(f"job {job_id} not found")
        if cur not in allowed_from:
            return False
        row = conn.execute(update(jobs).where((jobs.c.id == job_id) & (jobs.c.status == cur)).values(**values)
                           .returning(jobs.c.id, jobs.c.model_id, jobs.c.status, jobs.c.attempts)).first()
        if row is None:
            return False
        append_event(conn, "job", study_id=conn.execute(_STUDY_OF, {"p_model": row.model_id}).scalar(),
                     job_id=job_id, model_id=row.model_id, now=now,
                     payload={"status": row.status, "prev": cur, "attempts": row.attempts})
    return True


def cancel_job(db: Db, job_id: int) -> bool:
    """queued or running -> cancelled (a running job's worker learns it at its next heartbeat).
    Returns False when the job is already done/failed/cancelled; raises JobNotFound for an unknown id."""
    return _transition(db, job_id, ("queued", "running"),
                       {"status": "cancelled", "lease_until": None, "finished_at": utcnow()})


def requeue_job(db: Db, job_id: int, priority: int | None = None) -> bool:
    """failed or cancelled -> queued with attempts reset (optionally a new priority). done jobs keep their
    result and cannot be requeued (False); raises JobNotFound for an unknown id."""
    values: dict[str, Any] = {"status": "queued", "attempts": 0, "worker_id": None, "lease_until": None,
                              "started_at": None, "finished_at": None, "epochs_done": 0, "progress": None,
                              "queued_at": utcnow()}
    if priority is not None:
        values["priority"] = priority
    return _transition(db, job_id, ("failed", "cancelled"), values)


def queue_counts(db: Db | Connection, study_id: int | None = None) -> dict[str, int]:
    """Jobs per status (every status present, zeros included), optionally for one study."""
    q = select(jobs.c.status, func.count()).group_by(jobs.c.status)
    if study_id is not None:
        q = q.join(models, models.c.id == jobs.c.model_id).where(models.c.study_id == study_id)
    if isinstance(db, Connection):
        rows = db.execute(q).all()
    else:
        with _engine(db).connect() as conn:
            rows = conn.execute(q).all()
    out = dict.fromkeys(JOB_STATUSES, 0)
    out.update({s: int(c) for s, c in rows})
    return out


# ---------------------------------------------------------------------------------------------- results

def _num(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _finite(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become None (PostgreSQL's JSONB rejects them)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def result_values(result: dict[str, Any]) -> dict[str, Any]:
    """Normalise a result dict into `results` column values (see complete_job); also used by importers."""
    unknown = set(result) - set(RESULT_FIELDS)
    if unknown:
        raise ValueError(f"result: unknown keys {sorted(unknown)}; allowed {list(RESULT_FIELDS)}")
    curves = {k: _finite([_num(v) for v in result[k]]) if result.get(k) is not None else None
              for k in ("train_loss", "train_error", "test_error")}
    test = [v for v in (curves["test_error"] or []) if v is not None]
    error = _num(result.get("error")) if "error" in result else (min(test) if test else None)
    last = (curves["test_error"] or [None])[-1]
    error_final = _num(result.get("error_final")) if "error_final" in result else last
    diverged = bool(result.get("diverged", False))
    dnl = result.get("did_not_learn")
    return {"error": error, "error_final": error_final, "diverged": diverged, **curves,
            "train_seconds": _num(result.get("train_seconds")), "infer_ms": _num(result.get("infer_ms")),
            "device": None if result.get("device") is None else str(result["device"])[:200],
            "initial_loss": _num(result.get("initial_loss")), "did_not_learn": None if dnl is None else bool(dnl)}


__all__ = ["FINAL_STATUSES", "ClaimedJob", "JobNotFound", "cancel_job", "claim_job", "complete_job", "fail_job",
           "heartbeat", "queue_counts", "record_epoch", "register_worker", "release_job", "requeue_expired",
           "requeue_job", "result_values", "unregister_worker", "worker_heartbeat"]

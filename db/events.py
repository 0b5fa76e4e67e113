"""The events log: appended inside the transaction that makes a change, read by the SSE stream.

Kinds (payload keys in brackets):
- `study_created` / `study_deleted` [name]
- `jobs_queued` [count, priority] — one event per batch of queued samples, not one per job
- `job` [status, prev, attempts, worker_id, error?] — every job state change
- `epoch` [epoch, metrics] — a worker reported an epoch (live curves before the result exists)
- `result` [error, diverged] — a new result row
- `worker` [status, host, device]
- `derived` [count] — derived values (e_fit) of `count` models of the study were stored (db.derived)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Integer, Select, bindparam, delete, func, insert, select

from .engine import write_tx
from .models import events, jobs, studies, utcnow

DEFAULT_KEEP_SECONDS = 7 * 24 * 3600
DEFAULT_KEEP_ROWS = 200_000


def event_row(kind: str, *, study_id: int | None = None, job_id: int | None = None, model_id: int | None = None,
              payload: dict[str, Any] | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    return {"kind": kind, "study_id": study_id, "job_id": job_id, "model_id": model_id, "payload": payload,
            "created_at": now or utcnow()}


def append_event(conn: Connection, kind: str, **fields: Any) -> None:
    """Append one event on `conn` — call it inside the transaction that makes the change it reports."""
    conn.execute(insert(events), [event_row(kind, **fields)])


def append_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Append many `event_row(...)` dicts in one statement."""
    if rows:
        conn.execute(insert(events), rows)


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one())


#: event kinds that report no change to a study's population (its models, results and job states)
NO_DATA_KINDS = ("epoch", "worker")
#: how far back (in event ids) a commit can land behind one already seen: PostgreSQL takes an id when a row is
#: inserted, not when its transaction commits, so a writer still in flight can commit an id below the newest
#: visible one. Each writer holds one or two ids for milliseconds; 256 covers far more writers than a fleet has.
COMMIT_LAG = 256


def _data_events(study_id: Any) -> tuple[ColumnElement[bool], ...]:
    return (events.c.study_id == study_id, events.c.kind.notin_(NO_DATA_KINDS))


def study_data_version(conn: Connection, study_id: int) -> tuple[int, int]:
    """(newest event id of the study that can change its population, number of such events in the COMMIT_LAG
    ids before it). Per study, so that a result in study A never looks like a change of study B; `epoch`
    events (live curves) are left out, so a training epoch does not either. The count catches a transaction
    that commits an older id after a newer one was seen (the newest id alone would not move). Two short
    walks of ix_events_study_id; 0s when the study has no event kept."""
    top = int(conn.execute(select(func.coalesce(func.max(events.c.id), 0)).where(*_data_events(study_id)))
              .scalar_one())
    recent = conn.execute(select(func.count()).select_from(events)
                          .where(*_data_events(study_id), events.c.id > top - COMMIT_LAG)).scalar_one()
    return top, int(recent)


def _newest(*where: ColumnElement[bool]) -> tuple[Any, Any]:
    """(newest event id under `where`, count of such events in the COMMIT_LAG ids before it) as scalar
    subqueries: the pair that moves with every commit, a late one included (see COMMIT_LAG)."""
    top = select(func.coalesce(func.max(events.c.id), 0)).where(*where).scalar_subquery()
    recent = select(func.count()).select_from(events).where(*where, events.c.id > top - COMMIT_LAG).scalar_subquery()
    return top, recent


def _study_version_statement(live: bool) -> Select:
    study: Any = bindparam("p_study", type_=Integer)
    top, recent = _newest(events.c.study_id == study) if live else _newest(*_data_events(study))
    return select(top, recent, select(studies.c.n_models).where(studies.c.id == study).scalar_subquery())


#: built once: building the statement and its cache key each call cost 0.29 ms, five times its execution,
#: and every figure and page request of the dashboard asks for a version
_STUDY_VERSION = {live: _study_version_statement(live) for live in (False, True)}


def study_version(conn: Connection, study_id: int, *, live: bool = False) -> tuple[int, int, int]:
    """study_data_version plus the study's model count (studies.n_models, which a bulk load that appends no
    event still moves), in one statement: every cached figure and population asks for it once per request,
    so it is one round trip instead of three. `live` counts every event of the study, epochs too: what a page
    of its models shows (a job's epochs done) moves with each epoch, while its figures do not."""
    got = conn.execute(_STUDY_VERSION[live], {"p_study": study_id}).one()
    return int(got[0] or 0), int(got[1] or 0), int(got[2] or 0)


def queue_version_columns() -> tuple[Any, ...]:
    """Scalar subqueries of (newest event id, events in the COMMIT_LAG ids before it, newest job id): together
    they change whenever any job's status can have (every state change appends an event; queueing appends one
    per batch, and the job id covers a batch inserted without one), in three index look-ups however many jobs
    there are. Columns, so that a caller can ask for them in the statement it runs anyway."""
    top, recent = _newest()
    return top, recent, select(func.coalesce(func.max(jobs.c.id), 0)).scalar_subquery()


def models_changed(conn: Connection, study_id: int, after: int, limit: int) -> list[int] | None:
    """Ids of the study's models whose job or result changed in events after id `after` (reaching COMMIT_LAG
    ids further back, for commits that landed late), or None when that cannot be known from the log — events
    of that span may have been pruned — or when more than `limit` changed (a full read is cheaper then)."""
    since = after - COMMIT_LAG
    oldest = conn.execute(select(func.min(events.c.id))).scalar()
    if oldest is None or oldest > max(since, 0) + 1:
        return None  # the log no longer reaches back to `since`: some changes may be gone
    span = (*_data_events(study_id), events.c.id > since)
    if conn.execute(select(events.c.id).where(*span, events.c.kind == "derived").limit(1)).first() is not None:
        return None  # a batch of derived values names no models: read the study whole once
    q = select(events.c.model_id).distinct().where(*span, events.c.model_id.is_not(None)).limit(limit + 1)
    ids = [int(i) for i in conn.execute(q).scalars()]
    return None if len(ids) > limit else ids


def events_after(conn: Connection, last_id: int, limit: int = 500, study_id: int | None = None) -> list[dict]:
    """Events with id > last_id in id order (at most `limit`), as plain dicts with ISO timestamps."""
    q = select(events).where(events.c.id > last_id).order_by(events.c.id).limit(limit)
    if study_id is not None:
        q = q.where(events.c.study_id == study_id)
    out = []
    for r in conn.execute(q).mappings():
        d = dict(r)
        d["created_at"] = d["created_at"].isoformat() + "Z"
        out.append(d)
    return out


def prune_events(engine: Engine, keep_seconds: float = DEFAULT_KEEP_SECONDS, keep_rows: int = DEFAULT_KEEP_ROWS) -> int:
    """Delete events older than `keep_seconds` or beyond the newest `keep_rows`; returns rows deleted."""
    cutoff = utcnow() - dt.timedelta(seconds=keep_seconds)
    with write_tx(engine) as conn:
        n = conn.execute(delete(events).where(events.c.created_at < cutoff)).rowcount
        top = conn.execute(select(func.max(events.c.id))).scalar()
        if top is not None and top > keep_rows:
            n += conn.execute(delete(events).where(events.c.id <= top - keep_rows)).rowcount
    return n

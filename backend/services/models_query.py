"""Browsing a study's models: filtered, sorted, paginated pages with the total, and one model in full.

The same row shape feeds the export (services.export): plain dicts with id, index, name, arch_type, status,
error, error_final, diverged, flops, params, acts, train_seconds, infer_ms, epochs_done, job_id, attempts,
every flat parameter (d, w0, ..., b_5), extra and config.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, func, select

from backend.designspace.params import PARAM_NAMES
from db.models import jobs, models, results, studies

from .errors import InvalidInput, NotFound
from .filters import STATUS, ModelFilter, filtered, parse_sort

MAX_PAGE = 1000
ROW_COLUMNS = (
    models.c.id, models.c.index, models.c.name, models.c.arch_type, STATUS, results.c.error,
    results.c.error_final, results.c.diverged, models.c.flops, models.c.params, models.c.acts,
    results.c.train_seconds, results.c.infer_ms, jobs.c.epochs_done, jobs.c.id.label("job_id"), jobs.c.attempts,
    *(models.c[p] for p in PARAM_NAMES), models.c.extra, models.c.config,
)
CURVE_COLUMNS = (results.c.train_loss, results.c.train_error, results.c.test_error)


def require_study(conn: Connection, study_id: int) -> dict[str, Any]:
    row = conn.execute(select(studies).where(studies.c.id == study_id)).mappings().first()
    if row is None:
        raise NotFound(f"study {study_id} not found", "study_id")
    return dict(row)


def ordered(q, sort: str | None, flt: ModelFilter | None):
    """Apply a whitelisted sort ('col' or '-col'; nulls last; id breaks ties). Default: error when `top`
    is set, else id."""
    sort = sort or ("error" if flt is not None and flt.top else "id")
    try:
        col, desc = parse_sort(sort)
    except ValueError as e:
        raise InvalidInput.from_value_error(e, "sort") from None
    key = col.desc() if desc else col.asc()
    return q.order_by(key.nulls_last(), models.c.id.desc() if desc else models.c.id)


def count_models(conn: Connection, study_id: int, flt: ModelFilter | None) -> int:
    return conn.execute(filtered(select(func.count()), study_id, flt)).scalar_one()


def list_models(engine: Engine, study_id: int, flt: ModelFilter | None = None, sort: str | None = None,
                limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """One page of a study's models under `flt`, with the total count of matching models."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"must be in [1, {MAX_PAGE}] (got {limit})", "limit")
    if offset < 0:
        raise InvalidInput(f"must be >= 0 (got {offset})", "offset")
    with engine.connect() as conn:
        require_study(conn, study_id)
        q = ordered(filtered(select(*ROW_COLUMNS), study_id, flt), sort, flt).limit(limit).offset(offset)
        items = [dict(r) for r in conn.execute(q).mappings()]
        total = count_models(conn, study_id, flt)
    return {"total": total, "limit": limit, "offset": offset, "sort": sort or ("error" if flt and flt.top else "id"),
            "items": items}


def get_model(engine: Engine, model_id: int) -> dict[str, Any]:
    """One model with its curves, live progress, job state and study id."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*ROW_COLUMNS, *CURVE_COLUMNS, models.c.study_id, models.c.config_hash, results.c.device,
                   jobs.c.priority, jobs.c.max_attempts, jobs.c.worker_id, jobs.c.last_error, jobs.c.progress,
                   jobs.c.lease_until, jobs.c.queued_at, jobs.c.started_at, jobs.c.finished_at)
            .select_from(models.outerjoin(results, results.c.model_id == models.c.id)
                         .outerjoin(jobs, jobs.c.model_id == models.c.id))
            .where(models.c.id == model_id)).mappings().first()
    if row is None:
        raise NotFound(f"model {model_id} not found", "model_id")
    out = dict(row)
    for k in ("lease_until", "queued_at", "started_at", "finished_at"):
        out[k] = out[k].isoformat() + "Z" if out[k] is not None else None
    return out

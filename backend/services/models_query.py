"""Browsing a study's models: filtered, sorted, paginated pages with the total, and one model in full.

The same row shape feeds the export (services.export): plain dicts with id, index, name, arch_type, status,
error, error_final, diverged, did_not_learn, flops, params, acts, train_seconds, infer_ms, epochs_done, job_id,
attempts, every flat parameter (d, w0, ..., b_5), extra and config.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, func, select

from backend.designspace.params import PARAM_NAMES
from db.events import study_version
from db.models import jobs, models, results, studies
from db.rawsql import driver_rows, json_value

from .errors import InvalidInput, NotFound
from .filters import POPULATION, SORT_COLUMNS, STATUS, ModelFilter, best, sort_name, source, where
from .popcache import VersionedCache

MAX_PAGE = 1000
#: a model's row without the flat parameters (JSON exports) ...
BASE_COLUMNS = (
    models.c.id, models.c.index, models.c.name, models.c.arch_type, STATUS, models.c.error,
    results.c.error_final, results.c.diverged, results.c.did_not_learn, models.c.flops, models.c.params, models.c.acts,
    results.c.train_seconds, results.c.infer_ms, jobs.c.epochs_done, jobs.c.id.label("job_id"), jobs.c.attempts,
    models.c.extra, models.c.config,
)
#: ... and with them (pages, CSV)
ROW_COLUMNS = (*BASE_COLUMNS[:-2], *(models.c[p] for p in PARAM_NAMES), *BASE_COLUMNS[-2:])
CURVE_COLUMNS = (results.c.train_loss, results.c.train_error, results.c.test_error)
JSON_KEYS = ("config", "extra", "train_loss", "train_error", "test_error")


def records(conn: Connection, q, stream: bool = False) -> Iterator[dict[str, Any]]:
    """Rows of `q` as plain dicts, read on the driver's cursor: JSON decoded, booleans as bool."""
    keys = [c.key for c in q.selected_columns]
    decode = [i for i, k in enumerate(keys) if k in JSON_KEYS]
    flags = [i for i, k in enumerate(keys) if k in ("diverged", "did_not_learn")]  # SQLite's driver gives 0/1
    for batch in driver_rows(conn, q, stream=stream):
        for raw in batch:
            row = list(raw)
            for i in decode:
                row[i] = json_value(row[i])
            for i in flags:
                row[i] = None if row[i] is None else bool(row[i])
            yield dict(zip(keys, row, strict=True))


def require_study(conn: Connection, study_id: int) -> dict[str, Any]:
    row = conn.execute(select(studies).where(studies.c.id == study_id)).mappings().first()
    if row is None:
        raise NotFound(f"study {study_id} not found", "study_id")
    return dict(row)


def default_sort(flt: ModelFilter | None) -> str:
    return "error" if flt is not None and flt.top else "index"


def sort_key(sort: str | None, flt: ModelFilter | None) -> tuple[str, list]:
    """(sort name, ORDER BY terms) for a whitelisted sort ('col' or '-col'); nulls last; id breaks ties.
    Default: error when `top` is set, else index (the order models were sampled in; index-ordered, so fast)."""
    sort = sort or default_sort(flt)
    try:
        name, desc = sort_name(sort)
    except ValueError as e:
        raise InvalidInput.from_error(e, "sort") from None
    col = SORT_COLUMNS[name]
    key = col.desc() if desc else col.asc()
    if getattr(col, "nullable", True):  # NULLS LAST on a NOT NULL column would only stop index use
        key = key.nulls_last()
    return name, [key, models.c.id.desc() if desc else models.c.id]


def ordered(q, sort: str | None, flt: ModelFilter | None):
    """`q` in the requested order (see sort_key)."""
    return q.order_by(*sort_key(sort, flt)[1])


def count_models(conn: Connection, study_id: int, flt: ModelFilter | None) -> int:
    if flt is None or not flt.active():  # the study's kept count: no count(*) over 10^6 index entries
        return conn.execute(select(studies.c.n_models).where(studies.c.id == study_id)).scalar_one()
    if flt.top:  # count the best-k subquery itself, not every model against it
        return conn.execute(select(func.count()).select_from(best(study_id, flt).subquery())).scalar_one()
    return conn.execute(select(func.count()).select_from(source(flt)).where(where(study_id, flt))).scalar_one()


def _scans(flt: ModelFilter | None) -> bool:
    """Whether the filter makes the database visit rows (then one pass should give both page and total)."""
    return flt is not None and not flt.top and any(k not in ("ids",) for k in flt.active())


def _index_page(conn: Connection, page: Select, name: str, limit: int, offset: int, sort: str) -> list[int]:
    """The ids of one page of `page` (already in sort_key's order).

    A descending sort on a nullable column puts nulls last; no (study_id, column) index yields that order
    (PostgreSQL reads an ascending index backwards as DESC NULLS FIRST), so the database would sort the whole
    study for every page (0.5 s at 10^6 models). Instead the non-null rows are paged in plain DESC order, which a
    backward index scan gives, and the null rows (in id order, descending) follow once those run out: the same
    rows in the same order, at index cost."""
    col = SORT_COLUMNS[name]
    if not sort_name(sort)[1] or not getattr(col, "nullable", True):
        return list(conn.execute(page.limit(limit).offset(offset)).scalars())
    base = page.order_by(None)
    ids = list(conn.execute(base.where(col.is_not(None)).order_by(col.desc(), models.c.id.desc())
                            .limit(limit).offset(offset)).scalars())
    if len(ids) == limit:
        return ids
    if ids:  # the non-null rows ended inside this page
        skip = 0
    else:  # the page starts among the nulls: skip past however many non-null rows there are
        n_set = conn.execute(select(func.count()).select_from(base.where(col.is_not(None)).subquery())).scalar_one()
        skip = max(0, offset - n_set)
    ids += conn.execute(base.where(col.is_(None)).order_by(models.c.id.desc()).limit(limit - len(ids))
                        .offset(skip)).scalars()
    return ids


def list_models(engine: Engine, study_id: int, flt: ModelFilter | None = None, sort: str | None = None,
                limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """One page of a study's models under `flt`, with the total count of matching models.

    So that 10^5-model studies answer in milliseconds, the page's ids and the total are found over as few
    tables as the filter and sort need (usually `models` alone, on its (study_id, column) indexes, which also
    cover most counts), and only then are the page's full rows read, by id.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"must be in [1, {MAX_PAGE}] (got {limit})", "limit")
    if offset < 0:
        raise InvalidInput(f"must be >= 0 (got {offset})", "offset")
    name, order = sort_key(sort, flt)
    with engine.connect() as conn:
        require_study(conn, study_id)
        page = select(models.c.id).select_from(source(flt, name)).where(where(study_id, flt)).order_by(*order)
        if _scans(flt):  # one pass: the page's ids with the total of the rows the filter visited
            picked = conn.execute(page.add_columns(func.count().over()).limit(limit).offset(offset)).all()
            ids = [r[0] for r in picked]
            total = picked[0][1] if picked else count_models(conn, study_id, flt)
        else:  # index-ordered page and index-covered count: two cheap queries beat one window over everything
            ids = _index_page(conn, page, name, limit, offset, sort or default_sort(flt))
            total = count_models(conn, study_id, flt)
        rows = {r["id"]: r for r in records(conn, select(*ROW_COLUMNS).select_from(POPULATION)
                                              .where(models.c.id.in_(ids)))} if ids else {}
    return {"total": total, "limit": limit, "offset": offset, "sort": sort or default_sort(flt),
            "items": [rows[i] for i in ids]}


#: encoded pages of the views being looked at, keyed by (database, study, filter, sort, page) and the study's live
#: version (every event of the study, epochs included, and its model count): the dashboard asks for the first
#: page with nearly every view, so 50 readers of an unchanged study cost one read, and a write to another study
#: changes no key
_PAGES: VersionedCache[bytes] = VersionedCache(128)


def page_json(engine: Engine, study_id: int, flt: ModelFilter | None = None, sort: str | None = None,
              limit: int = 100, offset: int = 0) -> bytes:
    """list_models as JSON, from the page cache while the study is unchanged. orjson: the standard library's
    bytes at a sixth of its CPU; NON_STR_KEYS because the row keys are SQLAlchemy's column names (a str
    subclass)."""
    with engine.connect() as conn:
        version = study_version(conn, study_id, live=True)
    what = (engine.url.render_as_string(), study_id, flt.model_dump_json() if flt else "", sort, limit, offset)
    return _PAGES.get_or_load((what, version), lambda: orjson.dumps(
        list_models(engine, study_id, flt, sort, limit, offset), option=orjson.OPT_NON_STR_KEYS))


def get_model(engine: Engine, model_id: int) -> dict[str, Any]:
    """One model with its curves, live progress, job state and study id."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*ROW_COLUMNS, *CURVE_COLUMNS, models.c.study_id, models.c.config_hash, results.c.device,
                   results.c.initial_loss,
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

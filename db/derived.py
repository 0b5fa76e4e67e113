"""Stored derived values of models (e_fit): which models still need them, and writing them.

Computed from a model's config once — by the sampler, the worker that trains the model, after an import, or by
migration 0007 for old rows — and read by figures like any column (services.derived computes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from .events import append_event
from .models import models

_STORE = (models.update().where(models.c.id == bindparam("p_id"))
          .values(e_fit=bindparam("p_e_fit"), derived=True))


def pending(conn: Connection, study_id: int, limit: int, after: int = 0) -> list[tuple[int, Any]]:
    """(id, config) of up to `limit` models of the study with id > after whose derived values are not stored."""
    q = (select(models.c.id, models.c.config)
         .where(models.c.study_id == study_id, models.c.derived.is_(False), models.c.id > after)
         .order_by(models.c.id).limit(limit))
    return [(int(i), c) for i, c in conn.execute(q)]


def count_pending(conn: Connection, study_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(models)
                            .where(models.c.study_id == study_id, models.c.derived.is_(False))).scalar_one())


def store(conn: Connection, study_id: int, values: Sequence[tuple[int, float | None]]) -> None:
    """Store e_fit per model id (None: the model has no stage lists) and mark them derived, with one `derived`
    event, so that cached populations of the study see the change (services.popcache)."""
    if not values:
        return
    conn.execute(_STORE, [{"p_id": i, "p_e_fit": e} for i, e in values])
    append_event(conn, "derived", study_id=study_id, payload={"count": len(values)})

"""GET /api/health: version, database kind, queue counts (also proves the database answers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import Engine

from backend.services.jobs import health as health_report
from backend.services.views import Health

from .. import deps

router = APIRouter(tags=["health"])


@router.get("/api/health")
def health(engine: Engine = Depends(deps.engine)) -> Health:
    return health_report(engine)

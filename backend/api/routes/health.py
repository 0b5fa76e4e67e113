"""GET /api/health: version, database kind, queue counts (also proves the database answers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import Engine

from backend.services.jobs import health as health_report
from backend.services.views import Health

from .. import deps

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health)
def health(engine: Engine = Depends(deps.engine)) -> Response:
    """Encoded here, in the request's thread: a returned model is validated again by FastAPI on a second trip
    through the threadpool, which under 50 readers doubled this probe's latency (bench/dashboard_soak_bench.py)."""
    return Response(health_report(engine).model_dump_json(), media_type="application/json")

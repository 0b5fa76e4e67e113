"""GET /api/health: version, database kind, queue counts (also proves the database answers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from backend.services.jobs import health as health_report
from backend.services.views import Health

from .. import deps
from ..lanes import cheap_read

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health)
async def health(request: Request, engine: Engine = Depends(deps.engine)) -> Response:
    """Encoded here, on the cheap-read lane (api/lanes.py): a returned model is validated again by FastAPI, which
    for a plain `def` route is a second trip through the threadpool; under 50 readers that doubled this probe's
    latency (bench/dashboard_soak_bench.py)."""
    report = await cheap_read(request, health_report, engine)
    return Response(report.model_dump_json(), media_type="application/json")

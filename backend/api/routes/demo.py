"""POST /api/demo: seed the demo studies (the Studies page offers it on an empty database)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from sqlalchemy import Engine

from backend.services.demo import seed_demo
from backend.services.views import DemoSeeded

from .. import deps

router = APIRouter(tags=["demo"])


@router.post("/api/demo", status_code=status.HTTP_201_CREATED)
def start_demo(engine: Engine = Depends(deps.engine)) -> DemoSeeded:
    """RegNetX vs AnyNetX_A on digits, 24 models each, <= 5 MF at 32 px, trained with the "cpu-proxy" recipe
    preset (GET /api/recipes); 409 if it exists."""
    return seed_demo(engine)

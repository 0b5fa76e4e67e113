"""GET /api/studies/{id}/population: a study's whole population as columns, for the dashboard.

`format=bin` (the dashboard's) is typed arrays behind a small JSON header, cached by data version; `format=json`
the same content as plain lists (null where missing) for people and scripts. See backend.services.columns.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from backend.designspace.columns import Column
from backend.services.columns import encode_json, load_columns, population_body, study_columns
from backend.services.views import PopulationColumns

from .. import deps
from .studies import StudyId

router = APIRouter(tags=["population"])


@router.get("/api/studies/{study_id}/population", response_model=PopulationColumns, responses={200: {
    "description": "format=json: PopulationColumns; format=bin: the typed arrays (see the module doc)",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
def population(study_id: StudyId,
               format: Literal["bin", "json"] = Query("bin", description="bin: typed arrays (dashboard); json"),
               engine: Engine = Depends(deps.engine)) -> Response:
    """Every model's id, status, error, complexity and flat parameters as columns (see the module doc)."""
    if format == "json":
        return JSONResponse(encode_json(load_columns(engine, study_id)))
    return Response(population_body(engine, study_id), media_type="application/octet-stream",
                    headers={"Cache-Control": "no-store"})


@router.get("/api/studies/{study_id}/columns")
def columns(study_id: StudyId, engine: Engine = Depends(deps.engine)) -> list[Column]:
    """The columns this study's population has a value in, described as GET /api/columns describes the listed
    ones: those first (table order), then its imported columns (an NDS file's lr, wd, width, depth, operation
    counts, ...), each filterable as `<name>_min/_max` on /models, /export and the figures."""
    return study_columns(engine, study_id)

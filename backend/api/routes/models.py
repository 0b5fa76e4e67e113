"""A study's models: filtered/sorted pages, one model in full, and streamed exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import Engine

from backend.exporters import EXPORT_FORMATS
from backend.services import export as export_service
from backend.services import models_query
from backend.services.ids import RowId
from backend.services.population import check_extra_ranges
from backend.services.views import ModelDetail, ModelPage

from .. import deps
from ..lanes import cheap_read
from ..querymodels import QueryModel
from ..schemas import ExportQuery, ModelQuery
from .studies import StudyId

router = APIRouter(tags=["models"])
MODEL_QUERY = QueryModel(ModelQuery)
EXPORT_QUERY = QueryModel(ExportQuery)
EXPORT_MEDIA_TYPES = sorted({f.media_type for f in EXPORT_FORMATS})


@router.get("/api/studies/{study_id}/models", response_model=ModelPage, openapi_extra=MODEL_QUERY.openapi)
async def list_models(q: Annotated[ModelQuery, Depends(MODEL_QUERY)], study_id: StudyId, request: Request,
                      engine: Engine = Depends(deps.engine)) -> Response:
    """One page of models (filters: `<col>_min/_max`, status, arch_type, ids, top) with the total count.

    Sent as read (pages of up to 1,000 rows; cached per study version): the tests hold the rows to ModelPage."""
    flt = q.to_filter()

    def page() -> bytes:
        check_extra_ranges(engine, [study_id], flt)
        return models_query.page_json(engine, study_id, flt, q.sort, q.limit, q.offset)

    return Response(await cheap_read(request, page), media_type="application/json")


@router.get("/api/models/{model_id}", response_model=ModelDetail)
def get_model(model_id: Annotated[RowId, Path(description="model id")],
              engine: Engine = Depends(deps.engine)) -> JSONResponse:
    return JSONResponse(models_query.get_model(engine, model_id))


@router.get("/api/studies/{study_id}/export", response_class=StreamingResponse, responses={200: {
    "description": "the file (Content-Disposition names it)",
    "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in EXPORT_MEDIA_TYPES}}},
            openapi_extra=EXPORT_QUERY.openapi)
def export(q: Annotated[ExportQuery, Depends(EXPORT_QUERY)], study_id: StudyId,
           engine: Engine = Depends(deps.engine)) -> StreamingResponse:
    """Download the filtered models in an export format (GET /api/formats: json, csv, parquet, pycls YAML, ...).

    X-Netspace-Exported / X-Netspace-Left-Out count the models written and those the format cannot represent
    (X-Netspace-Left-Out-Reasons says why); a filter that keeps no model, or a format that can write none of
    them, is a 422 (field `filter` / `format`), never an empty file."""
    out = export_service.export(engine, study_id, q.to_filter(), q.format, q.sort)
    return StreamingResponse(out.chunks, media_type=out.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{out.filename}"', **out.headers})

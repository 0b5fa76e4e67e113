"""Studies: create, list, read, delete (with ?confirm=true), and queue samples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, status
from sqlalchemy import Engine

from backend.services import sampling, studies
from backend.services.ids import RowId
from backend.services.studies import StudyIn
from backend.services.views import SamplesQueued, Study, StudyDeleted

from .. import deps
from ..schemas import SamplesIn
from ..settings import Settings

router = APIRouter(tags=["studies"])
StudyId = Annotated[RowId, Path(description="study id")]


@router.get("/api/studies")
def list_studies(engine: Engine = Depends(deps.engine)) -> list[Study]:
    return [Study.model_validate(s) for s in studies.list_studies(engine)]


@router.post("/api/studies", status_code=status.HTTP_201_CREATED)
def create_study(body: StudyIn = Body(), engine: Engine = Depends(deps.engine),
                 settings: Settings = Depends(deps.settings)) -> Study:
    """Create a study; with `n`, also sample and queue n models in the same transaction."""
    return Study.model_validate(studies.create_study(engine, body, max_n=settings.max_n))


@router.get("/api/studies/{study_id}")
def get_study(study_id: StudyId, engine: Engine = Depends(deps.engine)) -> Study:
    return Study.model_validate(studies.get_study(engine, study_id))


@router.delete("/api/studies/{study_id}")
def delete_study(study_id: StudyId, confirm: bool = Query(False, description="must be true"),
                 engine: Engine = Depends(deps.engine)) -> StudyDeleted:
    return StudyDeleted.model_validate(studies.delete_study(engine, study_id, confirm))


@router.post("/api/studies/{study_id}/samples", status_code=status.HTTP_201_CREATED)
def queue_samples(body: SamplesIn, study_id: StudyId, engine: Engine = Depends(deps.engine),
                  settings: Settings = Depends(deps.settings)) -> SamplesQueued:
    """Sample n models of the study's space in its regime; queue those not already in the study."""
    out = sampling.queue_samples(engine, study_id, body.n, body.seed, body.priority, max_n=settings.max_n,
                                 max_attempts=body.max_attempts)
    return SamplesQueued.model_validate(out)

"""Jobs (list, read, cancel, requeue) and workers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path
from sqlalchemy import Engine

from backend.services import jobs
from backend.services.ids import RowId
from backend.services.views import Job, JobPage, Worker

from .. import deps
from ..querymodels import QueryModel
from ..schemas import JobQuery, RequeueIn

router = APIRouter(tags=["jobs"])
JOB_QUERY = QueryModel(JobQuery)
JobId = Annotated[RowId, Path(description="job id")]


@router.get("/api/jobs", openapi_extra=JOB_QUERY.openapi)
def list_jobs(q: Annotated[JobQuery, Depends(JOB_QUERY)], engine: Engine = Depends(deps.engine)) -> JobPage:
    return JobPage.model_validate(jobs.list_jobs(engine, q.status, q.study_id, q.worker_id, q.limit, q.offset))


@router.get("/api/jobs/{job_id}")
def get_job(job_id: JobId, engine: Engine = Depends(deps.engine)) -> Job:
    return Job.model_validate(jobs.get_job(engine, job_id))


@router.post("/api/jobs/{job_id}/cancel")
def cancel_job(job_id: JobId, engine: Engine = Depends(deps.engine)) -> Job:
    """queued/running -> cancelled (409 for a job that already finished)."""
    return Job.model_validate(jobs.cancel(engine, job_id))


@router.post("/api/jobs/{job_id}/requeue")
def requeue_job(job_id: JobId, body: RequeueIn | None = Body(None),
                engine: Engine = Depends(deps.engine)) -> Job:
    """failed/cancelled -> queued with attempts reset (409 otherwise); optional new priority."""
    return Job.model_validate(jobs.requeue(engine, job_id, body.priority if body else None))


@router.get("/api/workers")
def list_workers(engine: Engine = Depends(deps.engine)) -> list[Worker]:
    return [Worker.model_validate(w) for w in jobs.list_workers(engine)]

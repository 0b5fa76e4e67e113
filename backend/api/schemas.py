"""Request schemas of the API (pydantic v2). Query models forbid unknown parameters, so a misspelt filter
is a 422 naming it instead of being silently ignored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.exporters import export_format_names
from backend.services.filters import ModelFilter, split_commas
from backend.services.ids import RowId
from backend.services.models_query import MAX_PAGE
from db.models import JOB_STATUSES

if TYPE_CHECKING:  # Literals of the names for pydantic (and the OpenAPI schema); str to checkers
    ExportFormat = str
    JobStatus = str
else:
    ExportFormat = Literal[export_format_names()]
    JobStatus = Literal[JOB_STATUSES]


class SamplesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=1, description="models to sample and queue (at most NETSPACE_MAX_N)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="default: the study seed")
    priority: int = Field(0, ge=-1000, le=1000, description="higher runs first")
    max_attempts: int = Field(3, ge=1, le=100, description="attempts before a job is marked failed")


class RequeueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: int | None = Field(None, ge=-1000, le=1000)


class ModelQuery(ModelFilter):
    sort: str | None = Field(None, max_length=40, description="column, '-' prefix for descending "
                                                              "(default: error with top, else index)")
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=10**9)


class ExportQuery(ModelFilter):
    format: ExportFormat = "csv"
    sort: str | None = Field(None, max_length=40)


class JobQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: list[JobStatus] | None = None
    study_id: RowId | None = None
    worker_id: str | None = Field(None, max_length=200)
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=10**9)

    @field_validator("status", mode="before")
    @classmethod
    def _comma_list(cls, v):
        return split_commas(v)

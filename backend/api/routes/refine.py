"""Design-space design endpoints: refine a study, its lineage, and the size of any space.

    POST /api/studies/{id}/refine     {"step": {...}, "preview": true}  -> 200 {"preview", "study": null}
                                      {"step": {...}, "preview": false, "n": 100} -> 201 {"preview", "study"}
    GET  /api/studies/{id}/lineage    tree, chain, per-step constraint/dimension/size/n/EDF, step table, figure
    GET  /api/spaces/{name}/size      dimension and size of a built-in space (exact and the paper's Table 1)
    POST /api/spaces/size             the same for a custom spec: {"space": name | spec} or {"text": YAML/JSON}

The request body of refine is backend.services.refine.RefineIn; errors are 422s naming the field (e.g.
`step.narrow.wm`, `bestrange`, `filter`), 404 for an unknown study, 409 when the child's name is taken.
"""

from __future__ import annotations

from typing import Annotated

import yaml
from fastapi import APIRouter, Body, Depends, Path, Query, Response, status
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from sqlalchemy import Engine

from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.spec import SpaceSpec, parse_space
from backend.fielderrors import InvalidField, as_field_errors
from backend.services.errors import InvalidInput, NotFound
from backend.services.lineage import lineage
from backend.services.refine import RefineIn, refine_study
from backend.services.spacesize import size_report
from backend.services.studies import _space_by_name
from backend.services.views import Lineage, RefineResult, SizeReport

from .. import deps
from ..settings import Settings
from .studies import StudyId

router = APIRouter(tags=["design-space design"])
Levels = Query(None, ge=2, le=10**6, description="count RegNet's continuous d, w0, wa, wm at this many levels "
                                                 "(default 64, the paper's Table 1)")


class SpaceIn(BaseModel):
    """A space to count: exactly one of `space` (built-in name or spec object) and `text` (YAML/JSON)."""

    model_config = ConfigDict(extra="forbid")

    space: Annotated[SpaceSpec | None, BeforeValidator(_space_by_name)] = None
    text: str | None = Field(None, min_length=1, max_length=100_000, description="the spec as YAML or JSON")
    paper_levels: int | None = Field(None, ge=2, le=10**6)

    @model_validator(mode="after")
    def _one(self) -> SpaceIn:
        if (self.space is None) == (self.text is None):
            raise InvalidField("space", "give exactly one of 'space' (a built-in name or spec) and 'text'")
        return self


@router.post("/api/studies/{study_id}/refine",
             responses={201: {"description": "preview=false: the child study was created (the body as for 200)",
                             "model": RefineResult}})
def refine(response: Response, study_id: StudyId, body: RefineIn = Body(),
           engine: Engine = Depends(deps.engine), settings: Settings = Depends(deps.settings)) -> RefineResult:
    """Preview a refinement of the study's space (in-sample estimate, dimension, size); with preview=false,
    also create the child study (linked to this one) and queue n samples of it."""
    out = RefineResult.model_validate(refine_study(engine, study_id, body, max_n=settings.max_n))
    if out.study is not None:
        response.status_code = status.HTTP_201_CREATED
    return out


@router.get("/api/studies/{study_id}/lineage", response_model_exclude_unset=True)  # figure=false: no key
def get_lineage(study_id: StudyId, figure: bool = Query(True, description="include the Plotly figure"),
                engine: Engine = Depends(deps.engine)) -> Lineage:
    """The study's tree, its refinement chain with each step's statistics, and the lineage figure."""
    return Lineage.model_validate(lineage(engine, study_id, figure=figure))


@router.get("/api/spaces/{name}/size")
def builtin_size(name: str = Path(max_length=100), paper_levels: int | None = Levels) -> SizeReport:
    if name not in builtin_spaces():
        raise NotFound(f"unknown space {name!r}; built-ins: {', '.join(builtin_spaces())}", "name")
    return SizeReport.model_validate(size_report(get_space(name), paper_levels))


@router.post("/api/spaces/size")
def custom_size(body: SpaceIn) -> SizeReport:
    """Dimension and size of a custom spec (validated like POST /api/studies' `space`)."""
    spec = body.space
    if spec is None:
        try:
            spec = parse_space(body.text or "")
        except yaml.YAMLError as e:
            raise InvalidInput(f"not valid YAML/JSON: {getattr(e, 'problem', None) or e}", "text") from None
        except ValueError as e:  # a ValidationError, or parse_space's InvalidField("spec") about the whole spec
            first = as_field_errors(e, "spec")[0]
            raise InvalidInput(first.message, "text" if first.field in ("", "spec") else f"text.{first.field}",
                               first.allowed) from None
    return SizeReport.model_validate(size_report(spec, body.paper_levels))

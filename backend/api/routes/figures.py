"""Analysis figures as Plotly figure JSON: one study, or several overlaid.

    GET /api/studies/{id}/figures/{kind}?param=wm        one study (any /models filter too: &flops_max=4e8)
    GET /api/figures/{kind}?study=1&study=2&bins=8       overlay of studies (EDFs, statistics, trends, ...)
    GET /api/figures                                     the kinds, their options and help text

The body is the figure's JSON (`data`, `layout`; `layout.meta.help` says how to read it), ready for
`Plotly.newPlot(div, fig.data, fig.layout)`. Options a kind does not take, unknown kinds, out-of-range numbers and
an empty complexity bin are 422s naming the field.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ConfigDict, Field, create_model
from pydantic.fields import FieldInfo
from sqlalchemy import Engine

from backend.figures import FIGURES, figure_kind_names
from backend.figures.kinds import OPTIONS
from backend.services import figures as figure_service
from backend.services.figures import MAX_STUDIES
from backend.services.filters import ModelFilter
from backend.services.ids import RowId
from backend.services.views import FigureKind, FigureKinds, PlotlyFigure

from .. import deps
from ..lanes import cheap_read
from ..querymodels import QueryModel
from .studies import StudyId

router = APIRouter(tags=["figures"])
if TYPE_CHECKING:  # the registry's names as a Literal for FastAPI (a 422 listing them); str to checkers
    Kind = str
else:
    Kind = Literal[figure_kind_names()]


class _FigureQuery(ModelFilter):
    """Options of the figure kinds (each kind takes the ones listed by GET /api/figures), plus the filters of
    /models and /export (`flops_max`, `d_min`, `status`, `ids`, ...): the figure of the filtered population, so
    the dashboard's one filter drives its statistics figures too. The option fields are backend.figures.kinds'
    OPTIONS, each described with the kinds that take it."""

    model_config = ConfigDict(extra="forbid")

    def for_kind(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in OPTIONS if getattr(self, k) is not None}

    def population_filter(self) -> ModelFilter | None:
        return self.to_filter() if self.active() else None


def _option_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, (tp, info) in OPTIONS.items():
        kinds = ", ".join(f.name for f in FIGURES if name in f.options)
        fields[name] = (tp, FieldInfo.merge_field_infos(info, description=f"{kinds}: {info.description}"))
    return fields


if TYPE_CHECKING:
    FigureOptions = _FigureQuery
else:
    FigureOptions = create_model("FigureOptions", __base__=_FigureQuery, __doc__=_FigureQuery.__doc__,
                                 **_option_fields())


class OverlayOptions(FigureOptions):
    study: list[RowId] = Field(min_length=1, max_length=MAX_STUDIES, description="study ids (repeat the parameter)")


FIGURE_QUERY = QueryModel(FigureOptions)
OVERLAY_QUERY = QueryModel(OverlayOptions)


#: threads that build figures (load a population, draw it) at once, apart from the threadpool every other route
#: runs on: a burst of builds (50 readers after a study changed, each waiting for its figure's one build) then
#: waits here, not on the lane /health, /models and the cached figures use (api/lanes.py)
FIGURE_BUILD_THREADS = 6


def _builds(request: Request) -> anyio.CapacityLimiter:
    """The app's figure-build limiter, made in its event loop on first use."""
    state = request.app.state
    if getattr(state, "figure_builds", None) is None:
        state.figure_builds = anyio.CapacityLimiter(FIGURE_BUILD_THREADS)
    return state.figure_builds


async def _figure(request: Request, engine: Engine, kind: str, study_ids: list[int], q: _FigureQuery) -> Response:
    """The figure's JSON as Plotly writes it (its own encoder: numpy arrays, dates), shaped as PlotlyFigure: the
    cache look-up on the cheap-read lane (one small query; api/lanes.py), a build on the figure-build threads."""
    req = await cheap_read(request, functools.partial(figure_service.figure_request, engine, kind, study_ids,
                                                      q.population_filter(), **q.for_kind()))
    body = req.cached if req.cached is not None else await anyio.to_thread.run_sync(req.build,
                                                                                   limiter=_builds(request))
    return Response(content=body, media_type="application/json")


@router.get("/api/figures")
def figure_kinds() -> FigureKinds:
    """Every figure kind (backend.figures.kinds): label, help, the options it takes (with their JSON schema),
    what it needs loaded, and the dashboard pages that draw it, in display order."""
    props = FigureOptions.model_json_schema()["properties"]
    return FigureKinds(kinds=[FigureKind.model_validate({**f.describe(), "summary": f.help,
                                                         "options_schema": {o: props[o] for o in f.options}})
                              for f in FIGURES])


@router.get("/api/studies/{study_id}/figures/{kind}", response_model=PlotlyFigure, openapi_extra=FIGURE_QUERY.openapi)
async def study_figure_json(q: Annotated[FigureOptions, Depends(FIGURE_QUERY)], kind: Kind, study_id: StudyId,
                            request: Request, engine: Engine = Depends(deps.engine)) -> Response:
    return await _figure(request, engine, kind, [study_id], q)


@router.get("/api/figures/{kind}", response_model=PlotlyFigure, openapi_extra=OVERLAY_QUERY.openapi)
async def overlay_figure_json(q: Annotated[OverlayOptions, Depends(OVERLAY_QUERY)], kind: Kind, request: Request,
                              engine: Engine = Depends(deps.engine)) -> Response:
    return await _figure(request, engine, kind, q.study, q)

"""Analysis figures as Plotly figure JSON: one study, or several overlaid.

    GET /api/studies/{id}/figures/{kind}?param=wm        one study (any /models filter too: &flops_max=4e8)
    GET /api/figures/{kind}?study=1&study=2&bins=8       overlay of studies (EDFs, statistics, trends, ...)
    GET /api/figures                                     the kinds, their options and help text

The body is the figure's JSON (`data`, `layout`; `layout.meta.help` says how to read it), ready for
`Plotly.newPlot(div, fig.data, fig.layout)`. Options a kind does not take, unknown kinds, out-of-range numbers and
an empty complexity bin are 422s naming the field.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import ConfigDict, Field
from sqlalchemy import Engine

from backend.figures import FIGURE_KINDS, to_json
from backend.services.figures import KIND_OPTIONS, MAX_STUDIES, study_figure
from backend.services.filters import ModelFilter
from backend.services.views import FigureKind, FigureKinds, PlotlyFigure

from .. import deps

router = APIRouter(tags=["figures"])
Kind = Literal["edf", "edf_normalized", "scatter", "widths", "e_fit", "complexity", "stats", "random_search",
               "curves", "importance", "lineage"]
assert set(typing.get_args(Kind)) == set(FIGURE_KINDS)  # the path literal must list every builder


class FigureOptions(ModelFilter):
    """Options of the figure kinds (each kind takes the ones listed by GET /api/figures), plus the filters of
    /models and /export (`flops_max`, `d_min`, `status`, `ids`, ...): the figure of the filtered population, so
    the dashboard's one filter drives its statistics figures too."""

    model_config = ConfigDict(extra="forbid")

    param: str | None = Field(None, max_length=64, description="scatter: x column (d, w0, flops, e_fit, ...)")
    by: Literal["flops", "params", "acts"] | None = Field(None, description="edf_normalized: complexity")
    bins: int | None = Field(None, ge=1, le=100, description="edf_normalized: number of equal bins")
    log: bool | None = Field(None, description="edf_normalized: log-spaced bins")
    k: int | None = Field(None, ge=1, le=50, description="widths/curves: best and worst k models")
    replace: bool | None = Field(None, description="random_search: draw with replacement")

    def for_kind(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in OPTION_NAMES if getattr(self, k) is not None}

    def population_filter(self) -> ModelFilter | None:
        return self.to_filter() if self.active() else None


OPTION_NAMES = ("param", "by", "bins", "log", "k", "replace")


class OverlayOptions(FigureOptions):
    study: list[int] = Field(min_length=1, max_length=MAX_STUDIES, description="study ids (repeat the parameter)")


def _json(fig: Any) -> Response:
    """The figure's JSON as Plotly writes it (its own encoder: numpy arrays, dates), shaped as PlotlyFigure."""
    return Response(content=to_json(fig), media_type="application/json")


@router.get("/api/figures")
def figure_kinds() -> FigureKinds:
    """Every figure kind with its options and one-line help text."""
    helps = {kind: (FIGURE_KINDS[kind].__doc__ or "").strip().splitlines()[0] for kind in FIGURE_KINDS}
    return FigureKinds(kinds=[FigureKind(kind=k, options=list(KIND_OPTIONS[k]), summary=helps[k])
                              for k in FIGURE_KINDS])


@router.get("/api/studies/{study_id}/figures/{kind}", response_model=PlotlyFigure)
def study_figure_json(q: Annotated[FigureOptions, Query()], kind: Kind,
                      study_id: int = Path(ge=1, le=2**31 - 1, description="study id"),
                      engine: Engine = Depends(deps.engine)) -> Response:
    return _json(study_figure(engine, kind, [study_id], flt=q.population_filter(), **q.for_kind()))


@router.get("/api/figures/{kind}", response_model=PlotlyFigure)
def overlay_figure_json(q: Annotated[OverlayOptions, Query()], kind: Kind,
                        engine: Engine = Depends(deps.engine)) -> Response:
    return _json(study_figure(engine, kind, q.study, flt=q.population_filter(), **q.for_kind()))

"""Error EDFs reweighted to a uniform complexity over the shared range (NDS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..edf import NORM_HELP, edf_normalized_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class EdfNormalized(FigureKind):
    name = "edf_normalized"
    label = "Complexity-normalised EDFs"
    # the builder's help names the chosen complexity and bins; this one stands while none is drawn
    help = NORM_HELP.format(by="the complexity chosen beside the title", bins="as many as chosen, equal or log-spaced")
    order = 10
    options = ("by", "bins", "log")
    pages = ("compare",)

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return edf_normalized_figure(pops, **options)


FIGURE = EdfNormalized()

"""Error against one parameter per study, with binned quartiles and the bootstrap range of the best value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..scatter import SCATTER_HELP, error_scatter_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class Scatter(FigureKind):
    name = "scatter"
    label = "Error vs parameter"
    help = SCATTER_HELP.format(param="the parameter")
    order = 30
    options = ("param",)
    required = ("param",)
    pages = ("study", "compare")
    wide = True
    height = 340

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return error_scatter_figure(pops, **options)


FIGURE = Scatter()

"""How much each parameter matters for the error: permutation importance and rank correlation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..importance import IMPORTANCE_HELP, importance_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class Importance(FigureKind):
    name = "importance"
    label = "Parameter importance"
    help = IMPORTANCE_HELP
    order = 40
    pages = ("study",)
    wide = True
    height = 460

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return importance_figure(pops, **options)


FIGURE = Importance()

"""Per-block widths of the best and worst k models with the fitted quantized linear law (paper Fig. 8)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..widths import WIDTHS_HELP, width_curves_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class Widths(FigureKind):
    name = "widths"
    label = "Width curves"
    help = WIDTHS_HELP
    order = 50
    options = ("k",)
    needs = frozenset({"extreme_configs"})
    pages = ("study",)
    wide = True
    height = 420

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return width_curves_figure(pops, **options)


FIGURE = Widths()

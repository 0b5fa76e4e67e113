"""Error against e_fit, each model's distance from the best quantized linear width law."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..widths import EFIT_HELP, efit_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class EFit(FigureKind):
    name = "e_fit"
    label = "Width-law fit vs error"
    help = EFIT_HELP
    order = 70
    needs = frozenset({"e_fit"})
    pages = ("study",)
    ask_above = 1000

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return efit_figure(pops, **options)


FIGURE = EFit()

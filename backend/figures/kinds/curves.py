"""Per-epoch test (and train) error of the best and worst k models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..curves import CURVES_HELP, training_curves_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class Curves(FigureKind):
    name = "curves"
    label = "Training curves"
    help = CURVES_HELP
    order = 20
    options = ("k",)
    needs = frozenset({"extreme_curves"})
    pages = ("study",)

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return training_curves_figure(pops, **options)


FIGURE = Curves()

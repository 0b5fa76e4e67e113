"""Activations and parameters against flops, and inference time against both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..complexity import COMPLEXITY_HELP, complexity_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class Complexity(FigureKind):
    name = "complexity"
    label = "Complexity and runtime"
    help = COMPLEXITY_HELP
    order = 60
    pages = ("study",)
    wide = True
    height = 560

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return complexity_figure(pops, **options)


FIGURE = Complexity()

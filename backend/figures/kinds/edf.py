"""The error EDF of each study, with its DKW band (paper §2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..edf import EDF_HELP, edf_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class Edf(FigureKind):
    name = "edf"
    label = "Error EDF"
    help = EDF_HELP
    order = 0
    pages = ("study", "compare")

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return edf_figure(pops, **options)


FIGURE = Edf()

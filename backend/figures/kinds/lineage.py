"""Error EDFs of every step of a refinement chain (GET /api/studies/{id}/lineage draws it with the steps)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lineage import LINEAGE_HELP, lineage_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class Lineage(FigureKind):
    name = "lineage"
    label = "Refinement lineage"
    help = LINEAGE_HELP
    order = 100

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return lineage_figure(pops, **options)


FIGURE = Lineage()

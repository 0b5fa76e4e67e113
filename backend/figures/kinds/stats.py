"""Per-study error statistics and pairwise Kolmogorov-Smirnov tests (the compare page draws it as tables)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..compare import STATS_HELP, stats_table_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class Stats(FigureKind):
    name = "stats"
    label = "Statistics and KS tests"
    help = STATS_HELP
    order = 80

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return stats_table_figure(pops, **options)


FIGURE = Stats()

"""Expected best error of k random models from each study as k grows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..compare import RANDOM_HELP, random_search_figure
from . import FigureKind

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ..common import Populations


class RandomSearch(FigureKind):
    name = "random_search"
    label = "Random search efficiency"
    help = RANDOM_HELP
    order = 90
    options = ("replace",)
    pages = ("compare",)

    def build(self, pops: Populations, **options: Any) -> go.Figure:
        return random_search_figure(pops, **options)


FIGURE = RandomSearch()

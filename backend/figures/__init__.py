"""Plotly figure builders over populations (see backend.analysis.table for the population format).

Every builder takes ``pops`` (study label -> population) first and keyword options after. The figure kinds the API
and the dashboard know are the registry `FIGURES` (kinds/, one module per kind: name, label, help, options,
needs, pages and which builder draws it); `build_figure` is the one entry point the API and the report use.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from backend.fielderrors import InvalidField

from .common import Populations, to_json
from .compare import random_search_figure, stats_table_figure
from .complexity import complexity_figure
from .curves import training_curves_figure
from .edf import edf_figure, edf_normalized_figure
from .importance import importance_figure
from .kinds import FIGURES, FigureKind, figure_kind_names
from .lineage import lineage_figure
from .scatter import error_scatter_figure, error_scatter_figures
from .widths import efit_figure, width_curves_figure


def build_figure(kind: str, pops: Populations, **options: Any) -> go.Figure:
    """Build figure `kind`; unknown kinds raise ValueError naming the allowed ones."""
    if kind not in FIGURES:
        raise InvalidField("kind", f"unknown figure kind {kind!r}; allowed: {sorted(FIGURES.names())}")
    return FIGURES.get(kind).build(pops, **options)


__all__ = ["FIGURES", "FigureKind", "build_figure", "figure_kind_names", "to_json", "error_scatter_figures",
           "edf_figure", "edf_normalized_figure", "error_scatter_figure", "width_curves_figure", "efit_figure",
           "complexity_figure", "stats_table_figure", "random_search_figure", "training_curves_figure",
           "importance_figure", "lineage_figure"]

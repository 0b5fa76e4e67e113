"""Plotly figure builders over populations (see backend.analysis.table for the population format).

`FIGURE_KINDS` maps a figure kind to its builder; every builder takes ``pops`` (study label -> population)
first and keyword options after. `build_figure` is the one entry point the API and the report use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from backend.fielderrors import InvalidField

from .common import Populations, to_json
from .compare import random_search_figure, stats_table_figure
from .complexity import complexity_figure
from .curves import training_curves_figure
from .edf import edf_figure, edf_normalized_figure
from .importance import importance_figure
from .lineage import lineage_figure
from .scatter import error_scatter_figure, error_scatter_figures
from .widths import efit_figure, width_curves_figure

FIGURE_KINDS: dict[str, Callable[..., go.Figure]] = {
    "edf": edf_figure,
    "edf_normalized": edf_normalized_figure,
    "scatter": error_scatter_figure,
    "widths": width_curves_figure,
    "e_fit": efit_figure,
    "complexity": complexity_figure,
    "stats": stats_table_figure,
    "random_search": random_search_figure,
    "curves": training_curves_figure,
    "importance": importance_figure,
    "lineage": lineage_figure,
}


def build_figure(kind: str, pops: Populations, **options: Any) -> go.Figure:
    """Build figure `kind`; unknown kinds raise ValueError naming the allowed ones."""
    if kind not in FIGURE_KINDS:
        raise InvalidField("kind", f"unknown figure kind {kind!r}; allowed: {sorted(FIGURE_KINDS)}")
    return FIGURE_KINDS[kind](pops, **options)


__all__ = ["FIGURE_KINDS", "build_figure", "to_json", "error_scatter_figures", "edf_figure", "edf_normalized_figure",
           "error_scatter_figure", "width_curves_figure", "efit_figure", "complexity_figure", "stats_table_figure",
           "random_search_figure", "training_curves_figure", "importance_figure", "lineage_figure"]

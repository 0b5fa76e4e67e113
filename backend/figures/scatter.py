"""Error against a parameter: every model as a point, a binned trend and the bootstrap best range."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from backend.analysis.bootstrap import REPEATS, BestRange, best_ranges
from backend.analysis.table import column, size
from backend.analysis.trend import DEFAULT_BINS, binned_trend
from backend.fielderrors import InvalidField

from .common import (
    LOG_AXIS,
    Populations,
    axis_title,
    axis_type,
    band_trace,
    color,
    empty,
    finish,
    fmt,
    ids,
    points,
    rgba,
    scatter_trace,
    with_errors,
)

SCATTER_HELP = ("Each point is a model. Line and shading: median and quartiles of the error in quantile bins "
                "of {param}; vertical band: 95% bootstrap range of the value that holds the best models "
                "(dashed line: its median).")


def _panel(fig: go.Figure, label: str, pop, param: str, best: BestRange | None, col: str, bins: int) -> None:
    x, y = column(pop, param), column(pop, "error")
    rows = np.isfinite(x) & np.isfinite(y)
    n = int(rows.sum())
    fig.add_trace(scatter_trace(n)(
        x=points(x[rows]), y=points(y[rows]), customdata=ids(pop, rows).astype(np.int32), mode="markers",
        name=f"{label} n={n}", legendgroup=label, marker={"color": col, "size": 4, "opacity": 0.5},
        hovertemplate=f"model %{{customdata}}<br>{param} %{{x}}<br>error %{{y:.3f}}<extra>{label}</extra>"))
    tr = binned_trend(x[rows], y[rows], bins)
    if len(tr.x):
        fig.add_trace(band_trace(tr.x, tr.q1, tr.q3, col, label))
        fig.add_trace(go.Scatter(x=tr.x, y=tr.median, mode="lines+markers", legendgroup=label,
                                 name=f"{label} median, quartiles ({len(tr.x)} bins)",
                                 line={"color": col, "width": 2}, marker={"size": 5}))
    if best is not None and np.isfinite(best.lo):
        fig.add_shape(type="rect", xref="x", yref="paper", x0=best.lo, x1=best.hi, y0=0, y1=1,
                      fillcolor=rgba(col, 0.12), line={"width": 0}, layer="below", legendgroup=label,
                      showlegend=True, name=f"{label} best range [{fmt(best.lo)}, {fmt(best.hi)}]")
        fig.add_shape(type="line", xref="x", yref="paper", x0=best.median, x1=best.median, y0=0, y1=1,
                      line={"color": col, "dash": "dash", "width": 1.5}, legendgroup=label, showlegend=True,
                      name=f"{label} best {fmt(best.median)}")


def error_scatter_figures(pops: Populations, params: Sequence[str], bins: int = DEFAULT_BINS,
                          repeats: int = REPEATS, seed: int = 0) -> dict[str, go.Figure]:
    """One error-vs-parameter figure per parameter; the bootstrap runs once per study for all of them."""
    usable = with_errors(pops)
    best: dict[str, dict[str, BestRange]] = {}
    for label, pop in usable.items():
        have = [p for p in params if p in pop]
        best[label] = best_ranges(column(pop, "error"), {p: column(pop, p) for p in have}, repeats=repeats,
                                  seed=seed)
    out = {}
    for param in params:
        help_text = SCATTER_HELP.format(param=param)
        present = {k: p for k, p in usable.items() if param in p and np.isfinite(column(p, param)).any()}
        if not present:
            out[param] = empty("scatter", help_text, f"no finished model has a value for {param}")
            continue
        fig = go.Figure()
        xs = []
        for i, (label, pop) in enumerate(present.items()):
            _panel(fig, label, pop, param, best[label].get(param), color(i), bins)
            xs.append(column(pop, param))
        n_total = sum(size(p) for p in present.values())
        fig = finish(fig, "scatter", help_text, title=f"Error vs {param}", yaxis_title=axis_title("error"),
                     xaxis={"title": axis_title(param),
                            **(LOG_AXIS if axis_type(param, np.concatenate(xs)) == "log" else {"type": "linear"})},
                     meta={"param": param, "n": n_total})
        out[param] = fig
    return out


def error_scatter_figure(pops: Populations, param: str, bins: int = DEFAULT_BINS, repeats: int = REPEATS,
                         seed: int = 0) -> go.Figure:
    """Error against one parameter (any population column), overlaid over studies."""
    if not with_errors(pops):
        return empty("scatter", SCATTER_HELP.format(param=param), "no finished models yet")
    known = set().union(*(p.keys() for p in pops.values()))
    if param not in known or param in ("config", "curves", "id"):
        raise InvalidField("param", f"{param!r} is not a population column; "
                         f"available: {sorted(k for k in known if k not in ('config', 'curves', 'id'))}")
    return error_scatter_figures(pops, [param], bins, repeats, seed)[param]

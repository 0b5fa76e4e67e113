"""Error against a parameter: every model as a point, a binned trend and the bootstrap best range."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from backend.analysis.bootstrap import REPEATS, BestRange, best_ranges
from backend.analysis.minimum_n import TREND_PER_BIN, best_range_absent, trend_absent, trend_bins
from backend.analysis.table import column
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
    failures_label,
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
                "(dashed line: its median). Each is drawn only from enough models (docs/statistics.md); "
                "otherwise a note says why it is absent.")


def _panel(fig: go.Figure, label: str, pop, param: str, best: BestRange | None, col: str, bins: int,
           log: bool) -> tuple[int, list[str]]:
    """Points, trend and best range of one study; returns its n and the reasons for what was left out."""
    x, y = column(pop, param), column(pop, "error")
    rows = np.isfinite(x) & np.isfinite(y)
    n = int(rows.sum())
    fig.add_trace(scatter_trace(n)(
        x=points(x[rows]), y=points(y[rows]), customdata=ids(pop, rows).astype(np.int32), mode="markers",
        name=f"{label} {failures_label(pop, rows)}", legendgroup=label,
        marker={"color": col, "size": 4, "opacity": 0.5},
        hovertemplate=f"model %{{customdata}}<br>{param} %{{x}}<br>error %{{y:.3f}}<extra>{label}</extra>"))
    absent = []
    tr = binned_trend(x[rows], y[rows], max(1, trend_bins(n, bins)))
    why = trend_absent(n, tr.count)
    if why is None:
        full = tr.count >= TREND_PER_BIN  # value groups (g, b, d_i) too small for a median are left out
        fig.add_trace(band_trace(tr.x[full], tr.q1[full], tr.q3[full], col, label))
        fig.add_trace(go.Scatter(x=tr.x[full], y=tr.median[full], mode="lines+markers", legendgroup=label,
                                 name=f"{label} median, quartiles ({int(full.sum())} bins)",
                                 line={"color": col, "width": 2}, marker={"size": 5}))
    else:
        absent.append(why)
    if best is not None and np.isfinite(best.lo):
        why = best_range_absent(n, best.lo, best.hi, x[rows], log)
        if why is not None:
            return n, [*absent, why]
        fig.add_shape(type="rect", xref="x", yref="paper", x0=best.lo, x1=best.hi, y0=0, y1=1,
                      fillcolor=rgba(col, 0.12), line={"width": 0}, layer="below", legendgroup=label,
                      showlegend=True, name=f"{label} best range [{fmt(best.lo)}, {fmt(best.hi)}]")
        fig.add_shape(type="line", xref="x", yref="paper", x0=best.median, x1=best.median, y0=0, y1=1,
                      line={"color": col, "dash": "dash", "width": 1.5}, legendgroup=label, showlegend=True,
                      name=f"{label} best {fmt(best.median)}")
    return n, absent


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
        log = axis_type(param, np.concatenate([column(p, param) for p in present.values()])) == "log"
        counts, absent = {}, []
        for i, (label, pop) in enumerate(present.items()):
            counts[label], why = _panel(fig, label, pop, param, best[label].get(param), color(i), bins, log)
            absent += [f"{label}: {w}" if len(present) > 1 else w for w in why]
        fig = finish(fig, "scatter", help_text, title=f"Error vs {param}", yaxis_title=axis_title("error"),
                     xaxis={"title": axis_title(param), **(LOG_AXIS if log else {"type": "linear"})},
                     meta={"param": param}, n=counts, absent=absent)
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

"""EDF figures: plain error EDFs with a DKW band, and complexity-normalised EDFs (NDS)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from backend.analysis.edf import DEFAULT_TOL, EdfCurve, edf_curve
from backend.analysis.normalized import normalized_edfs
from backend.analysis.table import column, errors

from .common import Populations, axis_title, color, empty, finish, finished, fmt, legend_label, rgba, with_errors

EDF_HELP = ("F(e) = fraction of models with error below e; a curve further up and to the left is a better "
            "design space. Shaded: 95% DKW confidence band. Legend: n, min and mean error.")
NORM_HELP = ("Error EDFs reweighted so that {by} is uniform over the range all studies share ({bins} bins); "
             "compares design spaces at equal complexity. Band: 95% DKW with the effective n (approximate).")


def _curve_traces(fig: go.Figure, curve: EdfCurve, name: str, col: str, band: bool) -> None:
    x, y = curve.step_xy()
    if band:
        lo = np.r_[0.0, curve.lo]  # F = 0 at the minimum: band [0, eps]
        hi = np.r_[min(1.0, curve.eps), curve.hi]
        fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line={"width": 0, "shape": "hv"}, hoverinfo="skip",
                                 legendgroup=name, showlegend=False))
        fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line={"width": 0, "shape": "hv"}, fill="tonexty",
                                 fillcolor=rgba(col, 0.18), hoverinfo="skip", legendgroup=name, showlegend=False,
                                 name=f"{name} 95% DKW band"))
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, legendgroup=name,
                             line={"color": col, "width": 2, "shape": "hv"},
                             hovertemplate="error %{x:.3f}<br>F %{y:.3f}<extra></extra>"))


def edf_figure(pops: Populations, band: bool = True, tol: float = DEFAULT_TOL, alpha: float = 0.05) -> go.Figure:
    """Overlaid error EDFs, one per study, each with its (1 - alpha) DKW band."""
    usable = with_errors(pops)
    if not usable:
        return empty("edf", EDF_HELP, "no finished models yet")
    fig = go.Figure()
    for i, (label, pop) in enumerate(usable.items()):
        curve = edf_curve(errors(pop), tol=tol, alpha=alpha)
        _curve_traces(fig, curve, legend_label(label, curve.summary, pop=pop), color(i), band)
    return finish(fig, "edf", EDF_HELP, title="Error EDF", xaxis_title=axis_title("error"),
                  yaxis={"title": "cumulative probability", "range": [0, 1]}, n=finished(usable))


def edf_normalized_figure(pops: Populations, by: str = "flops", bins: int = 10, log: bool = False,
                          band: bool = True, tol: float = DEFAULT_TOL) -> go.Figure:
    """Complexity-normalised EDFs over the studies' common complexity range (raises EmptyBinError)."""
    help_text = NORM_HELP.format(by=by, bins=bins)
    usable = with_errors(pops)
    if not usable:
        return empty("edf_normalized", help_text, "no finished models yet")
    res = normalized_edfs({k: column(p, "error") for k, p in usable.items()},
                          {k: column(p, by) for k, p in usable.items()}, bins=bins, log=log, tol=tol)
    fig = go.Figure()
    n_eff = {}
    for i, (label, (curve, norm)) in enumerate(res.items()):
        _curve_traces(fig, curve, legend_label(label, curve.summary, weighted=True, pop=usable[label]), color(i),
                      band)
        n_eff[label] = norm.n_eff
    c_lo, c_hi = norm.c_lo, norm.c_hi
    title = (f"Error EDF normalised by {by} over [{fmt(c_lo)}, {fmt(c_hi)}], {bins} "
             f"{'log-' if log else ''}equal bins")
    return finish(fig, "edf_normalized", help_text, title=title, xaxis_title=axis_title("error"),
                  yaxis={"title": "cumulative probability (weighted)", "range": [0, 1]},
                  meta={"by": by, "bins": bins, "c_lo": c_lo, "c_hi": c_hi, "n_eff": n_eff},
                  n={label: curve.summary.n for label, (curve, _) in res.items()})

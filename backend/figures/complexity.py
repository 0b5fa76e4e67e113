"""Complexity relations (paper Fig. 12): acts and params against flops, inference time against flops and acts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backend.analysis.fits import LinearFit, linear_fit, pearson, runtime_fit, sqrt_fit
from backend.analysis.minimum_n import CORRELATION, fit_rule
from backend.analysis.table import column

from .common import (
    LOG_AXIS,
    Populations,
    axis_title,
    color,
    counts_text,
    empty,
    failures_label,
    finish,
    fmt,
    ids,
    plus,
    points,
    scatter_trace,
)

COMPLEXITY_HELP = ("Top: activations grow like sqrt(flops) and parameters linearly with flops (least-squares "
                   "fits over all models, R^2 in the legend). Bottom: inference time against flops and "
                   "activations with Pearson r; dashed: runtime model a*flops + b*sqrt(flops) + c. Fits and r "
                   "are drawn only from enough models (docs/statistics.md); otherwise a note says why.")
PANELS = (("flops", "acts"), ("flops", "params"), ("flops", "infer_ms"), ("acts", "infer_ms"))


def _fit_line(fig: go.Figure, fit: LinearFit, x: np.ndarray, name: str, col: str, group: str, r: int, c: int,
              ) -> None:
    xs = np.geomspace(x.min(), x.max(), 64) if x.min() > 0 else np.linspace(x.min(), x.max(), 64)
    ys = fit.predict(xs)
    ys = np.where(ys > 0, ys, np.nan)  # log axes: a fit that dips below 0 is drawn where it is positive
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, legendgroup=group,
                             line={"color": col, "dash": "dash", "width": 2}), row=r, col=c)


def _panel(fig: go.Figure, label: str, pop, xname: str, yname: str, col: str, r: int, c: int,
           ) -> tuple[int, str | None]:
    """One study on one panel: its points and fit; returns its n and why the fit is absent (or None)."""
    if xname not in pop or yname not in pop:
        return 0, None
    x, y = column(pop, xname), column(pop, yname)
    rows = np.isfinite(x) & np.isfinite(y)
    n = int(rows.sum())
    if n == 0:
        return 0, None
    xr, yr = x[rows], y[rows]
    first = r == 1 and c == 1
    fig.add_trace(scatter_trace(n)(x=points(xr), y=points(yr), mode="markers", legendgroup=label,
                                   name=f"{label} {failures_label(pop, rows)}", showlegend=first,
                                   customdata=ids(pop, rows),
                                   marker={"color": col, "size": 4, "opacity": 0.5},
                                   hovertemplate=f"model %{{customdata}}<br>{xname} %{{x:.4s}}<br>"
                                                 f"{yname} %{{y:.4s}}<extra>{label}</extra>"), row=r, col=c)
    rule = CORRELATION if yname == "infer_ms" else fit_rule(2)  # acts, params: two coefficients
    why = rule.absent(n) or (f"{rule.name} omitted: every model has the same {xname}" if np.ptp(xr) == 0 else None)
    if why is not None:
        return n, why
    if yname == "acts":
        f = sqrt_fit(xr, yr)
        _fit_line(fig, f, xr, f"{label}: acts = {fmt(f.coef['a'])}*sqrt(flops){plus(f.coef['c'])}, "
                  f"R2={f.r2:.3f}", col, label, r, c)
    elif yname == "params":
        f = linear_fit(xr, yr)
        _fit_line(fig, f, xr, f"{label}: params = {f.coef['a']:.3g}*flops{plus(f.coef['c'])}, "
                  f"R2={f.r2:.3f}", col, label, r, c)
    else:
        rho, _, _ = pearson(xr, yr)
        name = f"{label}: time vs {xname} r={rho:.3f}"
        if xname == "flops" and fit_rule(3).absent(n) is None:  # the runtime model has three coefficients
            f = runtime_fit(xr, yr)
            name += f", runtime model R2={f.r2:.3f}"
            _fit_line(fig, f, xr, name, col, label, r, c)
        else:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=name, legendgroup=label,
                                     line={"color": col}), row=r, col=c)
            return n, fit_rule(3).absent(n) if xname == "flops" else None
    return n, None


def _has(pops: Populations, xname: str, yname: str) -> bool:
    """Whether any study has a model with both numbers (a panel without one is not drawn)."""
    return any(xname in p and yname in p and (np.isfinite(column(p, xname)) & np.isfinite(column(p, yname))).any()
               for p in pops.values())


def _log_range(pops: Populations, name: str) -> list[float] | None:
    """A log axis' range from the data (log10 units, a little padding), so points never sit in a corner."""
    vals = np.concatenate([column(p, name) for p in pops.values() if name in p] or [np.zeros(0)])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if not len(vals):
        return None
    lo, hi = np.log10(vals.min()), np.log10(vals.max())
    pad = max(0.05 * (hi - lo), 0.05)
    return [float(lo - pad), float(hi + pad)]


def complexity_figure(pops: Populations) -> go.Figure:
    """The panels of acts, params, time vs flops and time vs acts that have data, studies overlaid; one note
    per quantity no study has (an NDS file records no activations, an import no inference time)."""
    panels = [pq for pq in PANELS if _has(pops, *pq)]
    if not panels:
        return empty("complexity", COMPLEXITY_HELP, "no models with complexity values")
    quantities = dict.fromkeys(q for pq in PANELS for q in pq)
    missing = [q for q in quantities if not any(q in p and np.isfinite(column(p, q)).any() for p in pops.values())]
    cols = 1 if len(panels) == 1 else 2
    rows = (len(panels) + 1) // 2
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"{y} vs {x}" for x, y in panels],
                        horizontal_spacing=0.1, vertical_spacing=0.14 if rows > 1 else 0.1)
    counts: list[dict[str, int]] = [{} for _ in panels]
    absent: list[list[str]] = [[] for _ in panels]
    for i, (label, pop) in enumerate(pops.items()):
        for p, (xname, yname) in enumerate(panels):
            r, c = divmod(p, cols)
            n, why = _panel(fig, label, pop, xname, yname, color(i), r + 1, c + 1)
            if n:
                counts[p][label] = n
            if why:
                absent[p].append(f"{label}: {why}" if len(pops) > 1 else why)
    for p, (xname, yname) in enumerate(panels):
        r, c = divmod(p, cols)
        fig.update_xaxes(LOG_AXIS, title_text=axis_title(xname), range=_log_range(pops, xname), row=r + 1, col=c + 1)
        fig.update_yaxes(LOG_AXIS, title_text=axis_title(yname), range=_log_range(pops, yname), row=r + 1, col=c + 1)
        fig.layout.annotations[p].text += f" ({counts_text(counts[p])})" if counts[p] else ""  # the subplot title
        for k, text in enumerate(absent[p]):  # why this panel has no fit, at its top
            fig.add_annotation(text=text, showarrow=False, row=r + 1, col=c + 1, x=0, y=1, xanchor="left",
                               yanchor="top", yshift=-16 * k, xref="x domain", yref="y domain",
                               font={"size": 11, "color": "#6b7280"}, bgcolor="rgba(255,255,255,0.8)")
    notes = [f"no {q} recorded: its panels are left out" for q in missing]
    for k, text in enumerate(notes):  # one line each, stacked under the plots
        fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0, y=0, xanchor="left",
                           yanchor="top", yshift=-48 - 16 * k, font={"size": 11, "color": "#6b7280"})
    models = {label: max(cnt.get(label, 0) for cnt in counts) for label in pops}
    fig = finish(fig, "complexity", COMPLEXITY_HELP, title="Complexity", height=380 * rows + 16 * len(notes),
                 n={k: v for k, v in models.items() if v},
                 meta={"absent": [t for a in absent for t in a] + notes, "missing": missing})
    return fig.update_layout(margin_b=(fig.layout.margin.b or 60) + 16 * len(notes)) if notes else fig

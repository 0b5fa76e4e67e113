"""Width curves of the best and worst models with the fitted law, and e_fit against error (paper Fig. 8)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backend.analysis.curves import best_worst
from backend.analysis.table import column
from backend.analysis.widths import expand_config, fit_width_law, population_e_fit, regnet_continuous

from .common import (
    Populations,
    axis_title,
    color,
    empty,
    failures_label,
    finish,
    finished,
    ids,
    n_label,
    points,
    scatter_trace,
    with_errors,
)

WIDTHS_HELP = ("Per-block width w_j against block j (log scale) for the best and worst models; circles mark "
               "stage starts, dotted: RegNet's continuous u_j = w0 + wa j, dashed: the quantized linear law "
               "fitted to the model (legend: its e_fit; 0 = exactly a RegNet).")
EFIT_HELP = ("e_fit measures how far a model's widths are from the best-fitting quantized linear law "
             "(0 = exactly a RegNet); good models cluster at small e_fit (paper Fig. 8).")


def _model_traces(fig: go.Figure, cfg, name: str, col: str, row: int, col_idx: int, fit: bool) -> None:
    lay = expand_config(cfg)
    j = np.arange(lay.depth)
    group = f"{name}-{row}-{col_idx}"
    label = name
    if fit:
        wf = fit_width_law(lay)
        label = f"{name} e_fit {wf.e_fit:.3f}"
        fig.add_trace(go.Scatter(x=j, y=wf.predicted, mode="lines", line={"color": col, "dash": "dash",
                                 "width": 1, "shape": "hv"}, legendgroup=group, showlegend=False,
                                 name=f"fit w0={wf.w0:.0f} wa={wf.wa:.1f} wm={wf.wm:.3f}"),
                      row=row, col=col_idx)
    fig.add_trace(go.Scatter(x=j, y=lay.widths, mode="lines", name=label, legendgroup=group,
                             line={"color": col, "width": 2, "shape": "hv"}), row=row, col=col_idx)
    fig.add_trace(go.Scatter(x=lay.stage_starts, y=lay.stage_widths, mode="markers", legendgroup=group,
                             showlegend=False, marker={"symbol": "circle-open", "size": 9, "color": col},
                             name="stage starts"), row=row, col=col_idx)
    u = regnet_continuous(cfg)
    if u is not None:
        fig.add_trace(go.Scatter(x=np.arange(len(u)), y=u, mode="lines", legendgroup=group, showlegend=False,
                                 line={"color": col, "dash": "dot", "width": 1}, name="u_j"),
                      row=row, col=col_idx)


def _widthless(pops: Populations) -> str | None:
    """'does not apply to ...' when no study has a model with per-block widths (every model an imported
    cell-based net: arch_type neither anynet nor mapped onto an AnyNet, and no stored e_fit)."""
    kinds: set[str] = set()
    for pop in pops.values():
        if "arch_type" not in pop or not len(pop["arch_type"]):
            return None
        arch = {str(a) for a in pop["arch_type"]}
        configs = pop.get("config")
        staged = any(isinstance(c, dict) and (c.get("anynet") or c.get("widths")) for c in (configs or ()))
        if "anynet" in arch or staged or ("e_fit" in pop and np.isfinite(column(pop, "e_fit")).any()):
            return None
        kinds |= arch
    return (f"does not apply to cell-based spaces ({', '.join(sorted(kinds))}): their models repeat a searched "
            "cell and have no per-block widths") if kinds else None


def width_curves_figure(pops: Populations, k: int = 5, fit: bool = True) -> go.Figure:
    """Per study one row: best k models (left) and worst k (right)."""
    why = _widthless(pops)
    if why is not None:
        return empty("widths", WIDTHS_HELP, why)
    usable = {lbl: p for lbl, p in with_errors(pops).items() if p.get("config") is not None}
    if not usable:
        return empty("widths", WIDTHS_HELP, "no finished models with configs")
    counts = finished(usable)
    titles = [t for lbl in usable for t in (f"{lbl}: best {k} of {n_label(counts[lbl])}",
                                            f"{lbl}: worst {k} of {n_label(counts[lbl])}")]
    # both panels of a row get their own tick labels over the same range (computed below): shared_yaxes would
    # leave the right-hand panel without labels
    fig = make_subplots(rows=len(usable), cols=2, subplot_titles=titles,
                        vertical_spacing=0.12 / max(1, len(usable) - 1) if len(usable) > 1 else 0.1)
    for r, (label, pop) in enumerate(usable.items(), start=1):
        err = column(pop, "error")
        start = len(fig.data)
        for c, idx in enumerate(best_worst(err, k), start=1):
            for rank, i in enumerate(idx):
                cfg = pop["config"][i]
                if cfg is None:
                    continue
                name = f"{label} {'best' if c == 1 else 'worst'} {rank + 1}: #{ids(pop, np.array([i]))[0]} " \
                       f"err {err[i]:.3g}"
                # the worst panel continues the palette: no colour means two models in one row
                _model_traces(fig, cfg, name, color(rank if c == 1 else k + rank), r, c, fit)
        row_y = [float(v) for t in fig.data[start:] for v in np.ravel(t.y) if v is not None and float(v) > 0]
        if row_y:
            # one range for both panels, padded so the widest and narrowest lines are not cut at the frame
            lo, hi = np.log10(min(row_y)), np.log10(max(row_y))
            fig.update_yaxes(range=[lo - 0.08, hi + 0.08], row=r)
    # widths are multiples of 8 and laws are geometric: ticks at powers of two, in plain numbers
    fig.update_yaxes(type="log", dtick=float(np.log10(2)), tick0=0, tickformat="d")
    fig.update_yaxes(title_text="width w_j", col=1)
    fig.update_xaxes(title_text="block j", row=len(usable))
    return finish(fig, "widths", WIDTHS_HELP, title="Per-block widths of the best and worst models",
                  height=max(420, 360 * len(usable)), n=counts)


def efit_figure(pops: Populations) -> go.Figure:
    """e_fit (stored, or fitted from configs) against error, overlaid over studies."""
    why = _widthless(pops)
    if why is not None:
        return empty("e_fit", EFIT_HELP, why)
    usable = with_errors(pops)
    fig = go.Figure()
    counts = {}
    for i, (label, pop) in enumerate(usable.items()):
        x, y = population_e_fit(pop), column(pop, "error")
        rows = np.isfinite(x) & np.isfinite(y)
        n = int(rows.sum())
        if n == 0:
            continue
        counts[label] = n
        fig.add_trace(scatter_trace(n)(
            x=points(x[rows]), y=points(y[rows]), customdata=ids(pop, rows).astype(np.int32), mode="markers",
            name=f"{label} {failures_label(pop, rows)} | median e_fit {np.median(x[rows]):.3f}",
            marker={"color": color(i), "size": 5, "opacity": 0.6},
            hovertemplate="model %{customdata}<br>e_fit %{x:.4f}<br>error %{y:.3f}<extra></extra>"))
    if not fig.data:
        return empty("e_fit", EFIT_HELP, "no finished models with configs or stored e_fit")
    return finish(fig, "e_fit", EFIT_HELP, title="e_fit vs error", xaxis_title=axis_title("e_fit"),
                  yaxis_title=axis_title("error"), n=counts)

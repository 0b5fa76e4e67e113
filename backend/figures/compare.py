"""Comparing studies: the statistics/KS table and random-search efficiency (paper Fig. 9)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backend.analysis.compare import compare_spaces
from backend.analysis.minimum_n import KS_CELL, ks_absent
from backend.analysis.random_search import DEFAULT_BAND, random_search_efficiency
from backend.analysis.table import errors

from .common import (
    LOG_AXIS,
    Populations,
    axis_title,
    band_trace,
    color,
    empty,
    failures_label,
    finish,
    finished,
    with_errors,
)

STATS_HELP = ("Per study: number of finished models and min/mean/median error. Per pair: the two-sample "
              "Kolmogorov-Smirnov statistic (largest vertical gap between the EDFs) and its p-value; a small "
              "p means the error distributions really differ. The p-value is given only from 20 models per side "
              "(docs/statistics.md); below, it could not tell anything short of complete separation.")
RANDOM_HELP = ("Expected best error among k models drawn at random (without replacement) from the study, "
               "exact from order statistics; band: 10th-90th percentile. Flatter early = fewer samples needed.")


def stats_table_figure(pops: Populations) -> go.Figure:
    """Two tables: per-study statistics, and KS statistic/p-value per pair of studies."""
    usable = with_errors(pops)
    if not usable:
        return empty("stats", STATS_HELP, "no finished models yet")
    cmp = compare_spaces({k: errors(p) for k, p in usable.items()})
    labels = list(cmp.stats)
    s = [cmp.stats[k] for k in labels]
    fig = make_subplots(rows=2, cols=1, specs=[[{"type": "table"}], [{"type": "table"}]], vertical_spacing=0.06,
                        row_heights=[0.5, 0.5])
    fig.add_trace(go.Table(
        header={"values": ["study", "n", "min", "mean", "median"], "align": "left"},
        cells={"values": [labels, [x.n for x in s], [f"{x.min:.3f}" for x in s], [f"{x.mean:.3f}" for x in s],
                          [f"{x.median:.3f}" for x in s]], "align": "left"}), row=1, col=1)
    pairs = cmp.pairs
    why = [ks_absent(cmp.stats[p.a].n, cmp.stats[p.b].n) for p in pairs]
    fig.add_trace(go.Table(
        header={"values": ["study A", "study B", "KS statistic", "p-value"], "align": "left"},
        cells={"values": [[p.a for p in pairs], [p.b for p in pairs], [f"{p.ks:.3f}" for p in pairs],
                          [f"{p.p_value:.3g}" if w is None else KS_CELL for p, w in zip(pairs, why, strict=True)]],
               "align": "left"}), row=2, col=1)
    meta = {"stats": {k: v.as_dict() for k, v in cmp.stats.items()},
            "pairs": [{"a": p.a, "b": p.b, "ks": p.ks, "p_value": p.p_value if w is None else None,
                       **({"absent": w} if w else {})} for p, w in zip(pairs, why, strict=True)]}
    return finish(fig, "stats", STATS_HELP, title="Statistics and KS tests", meta=meta,
                  height=300 + 30 * (len(labels) + len(pairs)), n=finished(usable))


def random_search_figure(pops: Populations, replace: bool = False,
                         band: tuple[float, float] = DEFAULT_BAND) -> go.Figure:
    """Expected best error of k random models against k (log axis), with its quantile band."""
    usable = with_errors(pops)
    if not usable:
        return empty("random_search", RANDOM_HELP, "no finished models yet")
    fig = go.Figure()
    for i, (label, pop) in enumerate(usable.items()):
        rs = random_search_efficiency(errors(pop), replace=replace, band=band)
        col = color(i)
        fig.add_trace(band_trace(rs.k, rs.lo, rs.hi, col, label))
        fig.add_trace(go.Scatter(x=rs.k, y=rs.mean, mode="lines+markers", legendgroup=label,
                                 name=f"{label} {failures_label(pop)}", line={"color": col, "width": 2},
                                 marker={"size": 4},
                                 hovertemplate="k=%{x}<br>expected best %{y:.3f}<extra></extra>"))
    sampling = "with" if replace else "without"
    return finish(fig, "random_search", RANDOM_HELP.replace("without", sampling),
                  title="Random search efficiency", xaxis={"title": "k (models sampled)", **LOG_AXIS},
                  yaxis_title=f"best {axis_title('error')} among k", n=finished(usable))

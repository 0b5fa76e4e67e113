"""Shared pieces of the figure builders: populations, colours, legends, help text, axes, JSON.

Every builder takes ``pops``: a mapping from a study label (legend name) to a population column dict (see
``backend.analysis.table``), so one code path draws one study or an overlay of several. Every figure carries
``layout.meta = {"kind": ..., "help": "how to read this"}`` for the dashboard and the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from backend.analysis.edf import Summary
from backend.analysis.failures import count_failures
from backend.analysis.minimum_n import brief
from backend.analysis.table import Population, column
from backend.designspace.columns import describe

Populations = Mapping[str, Population]
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
SCATTERGL_ABOVE = 2000  # WebGL points above this many models per trace


_AXIS = {"gridcolor": "#EBF0F8", "zerolinecolor": "#EBF0F8", "linecolor": "#C8D4E3", "automargin": True}
#: a small white template, registered once: assigning plotly's built-in templates deep-copies ~100 kB of
#: settings per figure, which was most of the server-side time of a figure
pio.templates["netspace"] = go.layout.Template(layout={
    "paper_bgcolor": "white", "plot_bgcolor": "white", "colorway": list(PALETTE), "xaxis": _AXIS, "yaxis": _AXIS,
    "font": {"color": "#2a3f5f"}, "hovermode": "closest", "title": {"x": 0.05}})


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def fmt(v: float) -> str:
    """Compact number for legends: 3 significant digits, SI suffix for counts."""
    if not np.isfinite(v):
        return "n/a"
    a = abs(v)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


def plus(v: float) -> str:
    """' + 3.2M' or ' - 3.2M': a signed term for fitted formulas."""
    return f" {'-' if v < 0 else '+'} {fmt(abs(v))}"


def n_label(n: int) -> str:
    """'n=48': how every figure states the size of a population. The one place that writes it, so what else a
    count should say (failures among the n) is added here once."""
    return f"n={n}"


def counts_text(counts: Mapping[str, int]) -> str:
    """'n=48' for one study, 'RegNetX n=48, AnyNetX_A n=40' for several: what a panel states as its n."""
    if len(counts) == 1:
        return n_label(next(iter(counts.values())))
    return ", ".join(f"{label} {n_label(n)}" for label, n in counts.items())


def finished(pops: Populations) -> dict[str, int]:
    """Models with a finite error per study: the n of every error statistic."""
    return {label: int(np.isfinite(column(p, "error")).sum()) for label, p in pops.items()}


def failures_label(pop: Population, rows: np.ndarray | None = None) -> str:
    """'n=48, 1 diverged, 2 did not learn': n_label of the models a trace draws (`rows`, a mask; by default the
    finished ones) and how many of them are learning failures (backend.analysis.failures), so a legend never
    hides them. A population without the flag columns (synthetic, imported) gives plain 'n=48'."""
    if rows is None:
        rows = np.isfinite(column(pop, "error"))
    if "diverged" not in pop or "did_not_learn" not in pop:
        return n_label(int(np.count_nonzero(rows)))
    counts = count_failures(pop["diverged"], pop["did_not_learn"], rows)
    return ", ".join([n_label(counts.n), *counts.label().split(", ")[1:]])


def legend_label(label: str, s: Summary, weighted: bool = False, pop: Population | None = None) -> str:
    """'RegNetX n=500, 2 did not learn | min 31.2 | mean 35.7' (and the effective n for weighted curves)."""
    n = (failures_label(pop) if pop is not None else n_label(s.n)) + (f" (n_eff={s.n_eff:.0f})" if weighted else "")
    return f"{label} {n} | min {s.min:.3g} | mean {s.mean:.3g}"


def axis_title(name: str) -> str:
    """The column's label and unit (backend/designspace/columns.yaml); an unlisted column's name."""
    return describe(name).axis_title()


LOG_AXIS = {"type": "log", "dtick": "D2"}  # log axis labelled at 1, 2, 5 of each decade only


def axis_type(name: str, values: np.ndarray) -> str:
    """'log' for log-sampled parameters and complexities (when all finite values are positive)."""
    v = values[np.isfinite(values)]
    return "log" if describe(name).log and len(v) and v.min() > 0 else "linear"


def with_errors(pops: Populations) -> dict[str, Population]:
    """The populations that have at least one finished model (a finite error)."""
    return {k: p for k, p in pops.items() if np.isfinite(column(p, "error")).any()}


def finish(fig: go.Figure, kind: str, help_text: str, meta: dict | None = None, *,
           n: Mapping[str, int] | None = None, absent: Sequence[str] = (), **layout) -> go.Figure:
    """Common layout plus the kind, the one-line help text and any extra facts in layout.meta.

    `n` (study -> models the figure is drawn from) is stated in the title and as layout.meta.note (the line
    the dashboard shows under a figure, whose title it drops); `absent` are the reasons statistics were left
    out (backend.analysis.minimum_n), drawn as notes in the plot and listed in layout.meta.absent (and cut
    short in meta.absent_brief, for the study page's small scatter panels).
    """
    extra: dict = {}
    if n is not None:
        extra = {"n": dict(n), "note": counts_text(n)}
        if "title" in layout:
            layout["title"] = f"{layout['title']} ({extra['note']})"
    if absent:
        extra["absent"] = list(absent)
        extra["absent_brief"] = [brief(a) for a in absent]
        for i, text in enumerate(absent):
            fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0, y=1, xanchor="left",
                               yanchor="top", yshift=-16 * i, font={"size": 11, "color": "#6b7280"},
                               bgcolor="rgba(255,255,255,0.8)", name="absent")
    fig.update_layout(template="netspace", meta={"kind": kind, "help": help_text, **extra, **(meta or {})},
                      legend={"font": {"size": 11}}, margin={"l": 60, "r": 20, "t": 50, "b": 50}, **layout)
    return fig


def empty(kind: str, help_text: str, message: str) -> go.Figure:
    """A figure that says why there is nothing to draw (no finished models, no curves, ...)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font={"size": 14})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, kind, help_text)


def points(x: np.ndarray) -> np.ndarray:
    """Point coordinates as float32: half the JSON of float64, ample precision for drawing."""
    return np.asarray(x, dtype=np.float32)


def band_trace(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, col: str, group: str) -> go.Scatter:
    """A filled polygon between lo(x) and hi(x), grouped with its line in the legend."""
    return go.Scatter(x=np.r_[x, x[::-1]], y=np.r_[lo, hi[::-1]], fill="toself", mode="lines", line={"width": 0},
                      fillcolor=rgba(col, 0.15), hoverinfo="skip", legendgroup=group, showlegend=False)


def scatter_trace(n: int) -> type[go.Scatter] | type[go.Scattergl]:
    return go.Scattergl if n > SCATTERGL_ABOVE else go.Scatter


def ids(pop: Population, rows: np.ndarray) -> np.ndarray:
    """Model ids of the given rows (row numbers when the population has no id column)."""
    if "id" in pop:
        return np.asarray(pop["id"])[rows].astype(np.int64)
    return np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows)


def to_json(fig: go.Figure) -> str:
    """Figure JSON as the API serves it (numpy arrays as typed-array base64)."""
    return pio.to_json(fig, validate=False)

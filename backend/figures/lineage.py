"""The lineage figure: error EDFs of a refinement chain overlaid, with the step-to-step table.

The paper shows its chain in three figures (Fig. 5: A, B, C; Fig. 7: C, D, E; Fig. 9: A, E, RegNetX). Here
the whole chain is one interactive figure: every step's EDF (in chain order, legend entries toggle them),
buttons that show all steps or one consecutive pair at a time, and under it a table with each step's
constraint, dimension, size, n, min and mean error, and the KS test against the step before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backend.analysis.edf import DEFAULT_TOL, edf_curve
from backend.analysis.lineage import consecutive_changes, summary_or_none
from backend.analysis.minimum_n import KS_CELL, ks_absent
from backend.analysis.table import column, errors

from .common import Populations, axis_title, color, finish, finished, legend_label, with_errors
from .edf import _curve_traces

LINEAGE_HELP = ("Error EDFs of each step of a refinement chain, in order (the paper's Figs. 5, 7 and 9 as one "
                "figure); a step whose curve lies up and to the left of its parent's improved the design space. "
                "Buttons show one consecutive pair; the table gives each step's constraint, dimension, size, n, "
                "min and mean error and the KS test against the step before.")


def _table(pops: Populations, steps: Mapping[str, Mapping[str, Any]]) -> go.Table:
    errs = {k: column(p, "error") for k, p in pops.items()}
    changes = {c.b: c for c in consecutive_changes(errs)}
    rows: list[list[str]] = []
    for label, e in errs.items():
        info = steps.get(label, {})
        stats = summary_or_none(e)
        ch = changes.get(label)  # None for the chain's first step
        why = None if ch is None or ch.stats_a is None or ch.stats_b is None else ks_absent(ch.stats_a.n, ch.stats_b.n)
        size = info.get("size")
        rows.append([label, str(info.get("constraint", "")),
                     "" if info.get("dimension") is None else str(info["dimension"]),
                     "" if size is None else f"{float(size):.2g}", str(stats.n) if stats else "0",
                     f"{stats.min:.3f}" if stats else "n/a", f"{stats.mean:.3f}" if stats else "n/a",
                     "" if ch is None or ch.ks is None else f"{ch.ks:.3f}",
                     KS_CELL if why else ("" if ch is None or ch.p_value is None else f"{ch.p_value:.3g}")])
    header = ["step", "constraint", "dim", "size", "n", "min", "mean", "KS vs previous", "p-value"]
    return go.Table(header={"values": header, "align": "left"},
                    cells={"values": [list(col) for col in zip(*rows, strict=True)], "align": "left"},
                    columnwidth=[1.2, 3.2, 0.5, 0.8, 0.5, 0.7, 0.7, 1, 0.8])


def lineage_figure(pops: Populations, steps: Mapping[str, Mapping[str, Any]] | None = None, band: bool = False,
                   tol: float = DEFAULT_TOL) -> go.Figure:
    """Overlaid EDFs of a refinement chain (pops in chain order), pair buttons and the step table.

    `steps` maps a label to what the table shows of that step: constraint (text), dimension, size.
    """
    steps = steps or {}
    fig = make_subplots(rows=2, cols=1, specs=[[{"type": "xy"}], [{"type": "table"}]], row_heights=[0.62, 0.38],
                        vertical_spacing=0.08)
    usable = with_errors(pops)
    owner: list[str] = []  # the step each EDF trace belongs to (for the pair buttons)
    for i, label in enumerate(pops):
        if label not in usable:
            continue
        curve = edf_curve(errors(usable[label]), tol=tol)
        before = len(fig.data)
        _curve_traces(fig, curve, legend_label(label, curve.summary), color(i), band)
        for trace in fig.data[before:]:
            trace.update(xaxis="x", yaxis="y")
            owner.append(label)
        constraint = steps.get(label, {}).get("constraint")
        if constraint:
            fig.data[-1].hovertemplate = (f"{label}: {constraint}<br>error %{{x:.3f}}<br>F %{{y:.3f}}"
                                          "<extra></extra>")
    fig.add_trace(_table(pops, steps), row=2, col=1)
    owner.append("")  # the table: always shown
    fig.update_layout(updatemenus=[_pair_buttons(list(usable), owner)] if len(usable) > 2 else [])
    fig.update_xaxes(title_text=axis_title("error"), row=1, col=1)
    fig.update_yaxes(title_text="cumulative probability", range=[0, 1], row=1, col=1)
    chain = " → ".join(pops)
    meta = {"chain": list(pops), "steps": {k: dict(v) for k, v in steps.items()}}
    return finish(fig, "lineage", LINEAGE_HELP, meta=meta, title=f"Refinement chain: {chain}",
                  height=560 + 28 * len(pops), n=finished(usable))


def _pair_buttons(labels: list[str], owner: list[str]) -> dict:
    """'all steps' and one button per consecutive pair (A → B): each sets which traces are visible."""
    buttons = [{"label": "all steps", "method": "restyle", "args": [{"visible": [True] * len(owner)}]}]
    for a, b in zip(labels, labels[1:], strict=False):
        visible = [o in ("", a, b) for o in owner]
        buttons.append({"label": f"{a} → {b}", "method": "restyle", "args": [{"visible": visible}]})
    return {"type": "dropdown", "buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.12, "yanchor": "top",
            "showactive": True}


"""Training curves (error per epoch) of the best and worst models."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from backend.analysis.curves import best_worst, curve_series
from backend.analysis.table import column

from .common import Populations, color, empty, finish, finished, ids, with_errors

CURVES_HELP = ("Test error per epoch of the best (solid, blue-green) and worst (dotted, red-orange) models; thin "
               "dashed: train error; hover a curve for its model. Curves still falling at the last epoch mean the "
               "budget limits the error.")
#: the best models in cool colours, the worst in warm ones (and solid against dotted, for colour-blind readers)
BEST_COLORS = ("#1f77b4", "#17becf", "#2ca02c", "#0b5394", "#7fb2d9")
WORST_COLORS = ("#d62728", "#ff7f0e", "#e377c2", "#8c1c13", "#f4a582")


def training_curves_figure(pops: Populations, k: int = 5, show_train: bool = True) -> go.Figure:
    """Per study, the k best and k worst models' per-epoch curves (needs the 'curves' column)."""
    fig = go.Figure()
    usable = with_errors(pops)
    for s, (label, pop) in enumerate(usable.items()):
        curves = pop.get("curves")
        if curves is None:
            continue
        err = column(pop, "error")
        for kind, idx in zip(("best", "worst"), best_worst(err, k), strict=True):
            for rank, i in enumerate(idx):
                x, y = curve_series(curves[i], "test_error")
                if len(x) == 0:
                    continue
                mid = int(ids(pop, np.array([i]))[0])
                name = f"{label} {kind} {rank + 1}: #{mid} err {err[i]:.3g}"
                # one legend entry per study and kind (k entries each crowded the plot into a scroll box)
                group = f"{label}-{kind}"
                palette = BEST_COLORS if kind == "best" else WORST_COLORS
                col = palette[rank % len(palette)] if len(usable) == 1 else color(s)
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, legendgroup=group,
                                         showlegend=rank == 0,
                                         hovertemplate=f"{name}<br>epoch %{{x}}: %{{y:.3g}}%<extra></extra>",
                                         line={"color": col, "dash": "solid" if kind == "best" else "dot",
                                               "width": max(1.0, 2.0 - rank * 0.25)}))
                if rank == 0:
                    fig.data[-1].name = f"{label} {kind} {len(idx)} (#{mid} err {err[i]:.3g}, …)"
                xt, yt = curve_series(curves[i], "train_error")
                if show_train and len(xt):
                    fig.add_trace(go.Scatter(x=xt, y=yt, mode="lines", name=f"{name} (train)", legendgroup=group,
                                             showlegend=False, line={"color": col, "dash": "dash", "width": 1}))
    if not fig.data:
        return empty("curves", CURVES_HELP, "no per-epoch curves recorded")
    return finish(fig, "curves", CURVES_HELP, title=f"Training curves: best and worst {k}",
                  xaxis_title="epoch", yaxis_title="top-1 error (%)",
                  n={label: n for label, n in finished(usable).items() if usable[label].get("curves") is not None})

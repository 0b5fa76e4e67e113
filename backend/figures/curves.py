"""Training curves (error per epoch) of the best and worst models."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from backend.analysis.curves import best_worst, curve_series
from backend.analysis.table import column

from .common import Populations, color, empty, finish, finished, ids, with_errors

CURVES_HELP = ("Test error per epoch of the best (solid) and worst (dotted) models; thin dashed: train error. "
               "Curves still falling at the last epoch mean the budget limits the error.")


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
                group = f"{label}-{mid}"
                col = color(s)
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, legendgroup=group,
                                         line={"color": col, "dash": "solid" if kind == "best" else "dot",
                                               "width": 2.0 - rank * 0.25}))
                xt, yt = curve_series(curves[i], "train_error")
                if show_train and len(xt):
                    fig.add_trace(go.Scatter(x=xt, y=yt, mode="lines", name=f"{name} (train)", legendgroup=group,
                                             showlegend=False, line={"color": col, "dash": "dash", "width": 1}))
    if not fig.data:
        return empty("curves", CURVES_HELP, "no per-epoch curves recorded")
    return finish(fig, "curves", CURVES_HELP, title=f"Training curves: best and worst {k}",
                  xaxis_title="epoch", yaxis_title="top-1 error (%)",
                  n={label: n for label, n in finished(usable).items() if usable[label].get("curves") is not None})

"""Parameter importance for the error: permutation importance and Spearman's rho per parameter."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from backend.analysis.importance import parameter_importance
from backend.analysis.minimum_n import CORRELATION, IMPORTANCE

from .common import Populations, color, empty, failures_label, finish, finished, with_errors

IMPORTANCE_HELP = ("Left: drop in held-out R^2 of a gradient-boosting model of the error when the parameter "
                   "is shuffled (permutation importance; larger = matters more). Right: Spearman rank "
                   "correlation with the error (negative = larger values give lower error). Each is drawn only "
                   "from enough models (docs/statistics.md); otherwise a note says why it is absent.")


def importance_figure(pops: Populations, seed: int = 0) -> go.Figure:
    """Horizontal bars per parameter, grouped by study; parameters in the first study's importance order."""
    usable = with_errors(pops)
    if not usable:
        return empty("importance", IMPORTANCE_HELP, "no finished models yet")
    counts = finished(usable)
    results = {label: parameter_importance(pop, seed=seed) for label, pop in usable.items()}
    absent = []
    for label, n in counts.items():
        for rule in (IMPORTANCE, CORRELATION):
            why = rule.absent(n)
            if why is not None:
                absent.append(f"{label}: {why}" if len(counts) > 1 else why)
    def strength(name: str) -> tuple[float, float]:
        """Largest permutation importance over the studies, then largest |rho| (NaN counts as nothing)."""
        found = [i for imps in results.values() for i in imps if i.name == name]
        return (max(np.nan_to_num(i.permutation, nan=-np.inf) for i in found),
                max(np.nan_to_num(abs(i.spearman), nan=-np.inf) for i in found))

    names_all = list(dict.fromkeys(i.name for imps in results.values() for i in imps))
    order = sorted(names_all, key=strength)  # ascending: most important at the top of a horizontal bar chart
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=["permutation importance (R^2 drop)", "Spearman rho with error"])
    for s, (label, imps) in enumerate(results.items()):
        by = {i.name: i for i in imps}
        names = [n for n in order if n in by]
        n_rows = max((i.n for i in imps), default=0)
        rho_ok = CORRELATION.absent(counts[label]) is None  # permutation is NaN below its minimum already
        legend_n = failures_label(usable[label])  # the finished models and their failures
        if n_rows != int(np.isfinite(usable[label]["error"]).sum()):
            legend_n += f" ({n_rows} with every parameter)"
        fig.add_trace(go.Bar(y=names, x=[by[n].permutation for n in names], orientation="h",
                             error_x={"type": "data", "array": [by[n].permutation_std for n in names]},
                             name=f"{label} {legend_n}", legendgroup=label, marker_color=color(s)), row=1, col=1)
        fig.add_trace(go.Bar(y=names, x=[by[n].spearman if rho_ok else None for n in names], orientation="h",
                             showlegend=False,
                             legendgroup=label, marker_color=color(s),
                             customdata=[by[n].spearman_p for n in names],
                             hovertemplate="rho %{x:.3f}, p %{customdata:.2g}<extra></extra>"), row=1, col=2)
    return finish(fig, "importance", IMPORTANCE_HELP, title="Which parameters matter for the error",
                  barmode="group", height=max(400, 22 * len(order) * len(results) + 150), n=counts, absent=absent)

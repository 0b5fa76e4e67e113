"""The lineage figure and the step-to-step statistics it tabulates (pure: numpy populations, no database)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from backend.analysis.lineage import consecutive_changes
from backend.figures import build_figure, to_json


@pytest.fixture
def chain():
    rng = np.random.default_rng(0)
    return {"A": {"error": rng.normal(40, 5, 50)}, "B": {"error": rng.normal(39, 5, 40)},
            "C": {"error": rng.normal(33, 4, 30)}, "D": {"error": np.array([np.nan, np.nan])}}


def test_consecutive_changes_are_the_ks_tests_and_deltas_of_each_pair(chain):
    errs = {k: v["error"] for k, v in chain.items()}
    changes = consecutive_changes(errs)
    assert [(c.a, c.b) for c in changes] == [("A", "B"), ("B", "C"), ("C", "D")]
    for c in changes[:2]:
        ks = stats.ks_2samp(errs[c.a], errs[c.b])
        assert (c.ks, c.p_value) == pytest.approx((ks.statistic, ks.pvalue))
        assert c.delta_min == pytest.approx(errs[c.b].min() - errs[c.a].min())
        assert c.delta_mean == pytest.approx(errs[c.b].mean() - errs[c.a].mean())
    last = changes[2]  # D has no finished model yet: no summary, no test
    assert last.stats_b is None and last.ks is None and last.as_dict()["stats_to"] is None
    assert changes[1].stats_b.n == 30


def test_lineage_figure_overlays_the_chain_with_pair_buttons_and_table(chain):
    steps = {"B": {"constraint": "shared b (b_i = b)", "dimension": 13, "size": 6.8e16}}
    fig = build_figure("lineage", chain, steps=steps)
    lines = [t for t in fig.data if t.type == "scatter"]
    assert [t.name.split(" n=")[0] for t in lines] == ["A", "B", "C"]  # D has nothing to draw
    assert lines[1].name.startswith("B n=40 | min ") and "shared b (b_i = b)" in lines[1].hovertemplate
    table = next(t for t in fig.data if t.type == "table")
    cells = table.cells.values
    assert list(cells[0]) == ["A", "B", "C", "D"] and cells[1][1] == "shared b (b_i = b)"
    assert (cells[2][1], cells[3][1], cells[4][3]) == ("13", "6.8e+16", "0")
    ks = stats.ks_2samp(chain["B"]["error"], chain["C"]["error"])
    assert cells[7][2] == f"{ks.statistic:.3f}" and cells[8][2] == f"{ks.pvalue:.3g}" and cells[7][0] == ""
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["all steps", "A → B", "B → C"]
    assert buttons[2].args[0]["visible"] == [False, True, True, True]  # B, C and the table
    assert fig.layout.meta["kind"] == "lineage" and fig.layout.meta["chain"] == ["A", "B", "C", "D"]
    with_band = build_figure("lineage", chain, band=True)
    assert sum(1 for t in with_band.data if t.type == "scatter") == 9
    assert with_band.layout.updatemenus[0].buttons[1].args[0]["visible"] == [True] * 6 + [False] * 3 + [True]
    assert '"kind":"lineage"' in to_json(fig).replace(" ", "")

"""Statistics that know their n: the thresholds (backend/analysis/minimum_n.py), and every figure stating its n
and, below a statistic's minimum, leaving it out with the reason (docs/statistics.md)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from test_figures import sampled_population

from backend.analysis import minimum_n as mn
from backend.analysis.synthetic import synthetic_population
from backend.analysis.table import from_records
from backend.figures import FIGURES, build_figure, to_json

# ------------------------------------------------------------------------------------------- thresholds


def test_the_thresholds_follow_from_their_derivations():
    # a median of TREND_PER_BIN models: its 95% distribution-free interval (order statistics k+1..n-k) excludes
    # the bin's extremes, which it cannot below 9 models
    def median_interval_excludes_extremes(n: int) -> bool:
        return 1 - 2 * stats.binom.cdf(1, n, 0.5) >= 0.95  # coverage of (x_(2), x_(n-1))

    assert median_interval_excludes_extremes(mn.TREND_PER_BIN)
    assert not median_interval_excludes_extremes(8)
    assert mn.TREND.min_n == mn.TREND_PER_BIN * mn.TREND_MIN_BINS == 30
    # the bootstrap winner of m = n/4 draws sits on average at quantile 1/(m+1) of the population
    assert 1 / (mn.BEST_RANGE.min_n // 4 + 1) == pytest.approx(1 / 6)
    assert 1 / (mn.BEST_RANGE_SURE_N // 4 + 1) < 0.1
    # KS: the 5% critical gap 1.358 sqrt(2/n) at the minimum is below half the EDF's height; not at 8 per side
    assert 1.358 * math.sqrt(2 / mn.KS.min_n) < 0.45 < 1.358 * math.sqrt(2 / 8)
    assert mn.fit_rule(3).min_n == 3 * mn.FIT_PER_COEF
    from backend.analysis.importance import MIN_ROWS_FOR_MODEL
    assert mn.IMPORTANCE.min_n == MIN_ROWS_FOR_MODEL  # one place


def test_rules_say_why_below_their_minimum_and_nothing_at_it():
    assert mn.TREND.absent(8) == "trend omitted: n=8 < 30 needed for a binned median (3 bins of >= 10 models)"
    assert mn.TREND.absent(30) is None
    assert mn.trend_bins(8, 10) == 0 and mn.trend_bins(35, 10) == 3 and mn.trend_bins(1000, 10) == 10
    # enough models, but a parameter with few values: only groups of >= 10 models count
    assert mn.trend_absent(40, np.array([30, 5, 5])) == (
        "trend omitted: only 1 value group of >= 10 models (n=40); 3 needed for a binned median")
    assert mn.trend_absent(40, np.array([10, 20, 10])) is None
    assert mn.ks_absent(20, 25) is None
    assert mn.ks_absent(8, 40) == "KS p-value omitted: n=8 vs 40 < 20 per side needed for a two-sample KS verdict"
    assert mn.IMPORTANCE.absent(39) is not None and mn.IMPORTANCE.absent(40) is None
    assert mn.CORRELATION.absent(9) == "correlation omitted: n=9 < 10 needed for a correlation coefficient"


def test_best_range_needs_n_or_a_narrow_range():
    x = np.linspace(1.0, 100.0, 30)
    assert "n=10 < 20" in mn.best_range_absent(10, 40.0, 45.0, x, log=False)  # never below the floor
    assert mn.best_range_absent(30, 40.0, 60.0, x, log=False) is None  # 20% of the axis: informative
    wide = mn.best_range_absent(30, 10.0, 90.0, x, log=False)
    assert wide == ("best range omitted: n=30 and it spans 81% of the axis (shown from n=40, or when narrower "
                    "than 33%)")
    assert mn.best_range_absent(40, 1.0, 100.0, x, log=False) is None  # from 40 on, whatever its width
    # on a log axis the span is measured in log space: [10, 100] of [1, 100] is half of it
    assert "50%" in mn.best_range_absent(30, 10.0, 100.0, np.geomspace(1, 100, 30), log=True)


# ------------------------------------------------------------------------------------------- figures


def sampled(n: int, seed: int = 1) -> dict:
    """A population of n models whose error follows flops (so a trend and a best range exist at large n)."""
    pop = synthetic_population(n, seed=seed)
    rng = np.random.default_rng(seed)
    f = np.log(pop["flops"])
    pop["error"] = 40 - 3 * (f - f.mean()) / f.std() + rng.normal(0, 0.5, n)
    return pop


def meta(fig) -> dict:
    return json.loads(to_json(fig))["layout"]["meta"]


def test_every_figure_states_its_n():
    # real sampled configs (widths, e_fit) with curves; the last model of each is unfinished: n = 12 and 50
    pops = {"A": sampled_population("RegNetX", 13, 1, 0.0), "B": sampled_population("AnyNetX_A", 51, 2, 5.0)}
    for kind in FIGURES.names():
        fig = build_figure(kind, pops, **({"param": "flops"} if kind == "scatter" else
                                          {"bins": 2} if kind == "edf_normalized" else {}))
        m = meta(fig)
        if kind == "edf_normalized":  # counted within the complexity range the two share
            assert set(m["n"]) == {"A", "B"} and m["note"].startswith("A n="), m["note"]
            continue
        a, b = (13, 51) if kind == "complexity" else (12, 50)  # complexity needs no error: unfinished count
        assert m["n"] == {"A": a, "B": b}, kind
        assert m["note"] == f"A n={a}, B n={b}" and fig.layout.title.text.endswith(f"(A n={a}, B n={b})"), kind
    one = build_figure("edf", {"A": sampled(12)})
    assert meta(one)["note"] == "n=12" and one.layout.title.text == "Error EDF (n=12)"
    widths = build_figure("widths", pops, k=2)
    assert [a.text for a in widths.layout.annotations][:2] == ["A: best 2 of n=12", "A: worst 2 of n=12"]


def test_small_n_scatter_carries_n_and_why_trend_and_range_are_absent():
    fig = build_figure("scatter", {"S": sampled(8)}, param="flops")
    m = meta(fig)
    assert m["n"] == {"S": 8} and m["absent"] == [
        "trend omitted: n=8 < 30 needed for a binned median (3 bins of >= 10 models)",
        "best range omitted: n=8 < 20 needed for the bootstrap of the best models (resamples of n/4 >= 5 models)"]
    assert [t.name for t in fig.data] == ["S n=8"] and not fig.layout.shapes  # points only
    notes = [a.text for a in fig.layout.annotations]
    assert notes == m["absent"]  # drawn in the panel, too
    # EDF bands stay at any n
    edf = build_figure("edf", {"S": sampled(8)})
    assert sum(1 for t in edf.data if t.fill == "tonexty") == 1 and "absent" not in meta(edf)


def test_large_n_scatter_draws_trend_and_best_range():
    fig = build_figure("scatter", {"S": sampled(400)}, param="flops")
    m = meta(fig)
    assert "absent" not in m and m["n"] == {"S": 400}
    assert any("median, quartiles (10 bins)" in (t.name or "") for t in fig.data)
    assert [s.type for s in fig.layout.shapes] == ["rect", "line"]
    # a parameter with few values: groups under 10 models are left out of the trend, never drawn from 2 models
    pop = sampled(60)
    pop["g"] = np.where(np.arange(60) < 2, 64.0, np.where(np.arange(60) % 2, 8.0, 16.0))
    pop["g"][2:30] = 8.0
    fig = build_figure("scatter", {"S": pop}, param="g")
    assert "trend omitted: only 2 value groups of >= 10 models (n=60)" in meta(fig)["absent"][0]
    pop["g"][:20] = 32.0
    trend = next(t for t in build_figure("scatter", {"S": pop}, param="g").data if "median" in (t.name or ""))
    assert list(trend.x) == [8.0, 16.0, 32.0]  # 64 (and its 2 models, overwritten here) is not a bin


def test_overlaid_studies_name_whose_statistic_is_absent():
    fig = build_figure("scatter", {"small": sampled(8, 1), "big": sampled(400, 2)}, param="flops")
    assert [a.startswith("small: ") for a in meta(fig)["absent"]] == [True, True]
    assert any((t.name or "").startswith("big median") for t in fig.data)


def test_importance_ks_and_fits_below_their_minimum():
    small = {"S": sampled(15)}
    imp = build_figure("importance", small)
    assert meta(imp)["absent"] == ["permutation importance omitted: n=15 < 40 needed for a held-out R^2 (30 models "
                                   "to fit, 10 held out)"]
    assert all(v is None or np.isnan(v) for v in imp.data[0].x)
    tiny = build_figure("importance", {"S": sampled(8)})
    assert len(meta(tiny)["absent"]) == 2 and all(v is None for v in tiny.data[1].x)  # no rho at n=8
    big = build_figure("importance", {"S": sampled(120)})
    assert "absent" not in meta(big) and np.isfinite(np.asarray(big.data[0].x, dtype=float)).any()

    st = build_figure("stats", {"A": sampled(12, 1), "B": sampled(50, 2), "C": sampled(30, 3)})
    pairs = {(p["a"], p["b"]): p for p in meta(st)["pairs"]}
    assert pairs["A", "B"]["p_value"] is None and pairs["A", "B"]["absent"].startswith("KS p-value omitted: n=12 vs")
    assert pairs["B", "C"]["p_value"] is not None and "absent" not in pairs["B", "C"]
    assert list(st.data[1].cells.values[3]) == [mn.KS_CELL, mn.KS_CELL, f"{pairs['B', 'C']['p_value']:.3g}"]

    cx = build_figure("complexity", {"S": sampled(15)})
    assert meta(cx)["absent"] == [
        "fitted law omitted: n=15 < 20 needed for a 2-coefficient least-squares fit"] * 2 + [
        "fitted law omitted: n=15 < 30 needed for a 3-coefficient least-squares fit"]
    assert [a.text for a in cx.layout.annotations][:4] == [f"{t} (n=15)" for t in ("acts vs flops", "params vs flops",
                                                                                    "infer_ms vs flops",
                                                                                    "infer_ms vs acts")]
    assert not any("R2=" in (t.name or "") for t in cx.data)


def test_small_population_from_records_has_n_in_the_legend_of_every_trace_group():
    recs = [{"id": i, "error": 10.0 + i, "flops": 1e6 * (i + 1), "d": float(i % 3 + 1)} for i in range(5)]
    pop = from_records(recs)
    fig = build_figure("random_search", {"tiny": pop})
    assert any(t.name == "tiny n=5" for t in fig.data)

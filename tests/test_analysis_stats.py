"""Trends, KS comparisons, random-search efficiency, curves and parameter importance."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from scipy import stats

from backend.analysis.compare import compare_spaces, ks_test
from backend.analysis.curves import best_worst, curve_series
from backend.analysis.importance import parameter_importance
from backend.analysis.random_search import random_search_efficiency, survival
from backend.analysis.synthetic import synthetic_population
from backend.analysis.table import from_records, numeric_columns, size, take
from backend.analysis.trend import binned_trend


def test_binned_trend_quantile_bins_against_numpy_groups():
    rng = np.random.default_rng(0)
    x = rng.lognormal(3, 1, 10_000)
    y = np.log(x) + rng.normal(0, 0.3, len(x))
    tr = binned_trend(x, y, bins=10)
    assert not tr.by_value and len(tr.x) == 10 and tr.count.sum() == len(x)
    assert np.all(np.abs(tr.count - 1000) <= 1)
    edges = np.quantile(x, np.linspace(0, 1, 11))
    for k in range(10):
        sel = (x >= edges[k]) & ((x < edges[k + 1]) if k < 9 else (x <= edges[k + 1]))
        assert tr.median[k] == pytest.approx(np.median(y[sel]))
        assert (tr.q1[k], tr.q3[k]) == pytest.approx(tuple(np.percentile(y[sel], [25, 75])))
        assert tr.x[k] == pytest.approx(np.median(x[sel]))
    assert np.all(np.diff(tr.median) > 0)


def test_binned_trend_by_value_for_discrete_parameters():
    rng = np.random.default_rng(1)
    g = rng.choice([1.0, 2.0, 4.0, 8.0, 16.0, 32.0], 50_000)
    y = 30 - np.log2(g) + rng.normal(0, 1, len(g))
    y[::97] = np.nan
    tr = binned_trend(g, y)
    assert tr.by_value and list(tr.x) == [1, 2, 4, 8, 16, 32]
    for v, med in zip(tr.x, tr.median, strict=True):
        sel = (g == v) & np.isfinite(y)
        assert med == pytest.approx(np.median(y[sel]))


def brute_ks(a, b):
    pts = sorted(set(a) | set(b))
    return max(abs(sum(v <= p for v in a) / len(a) - sum(v <= p for v in b) / len(b)) for p in pts)


def test_ks_and_comparison_table_on_nds(reference_dir):
    errs = {}
    for name in ("ResNeXt-A_in", "ResNeXt-B_in", "DARTS_in"):
        with open(reference_dir / "nds" / f"{name}.json") as f:
            errs[name] = np.array([r["min_test_top1"] for r in json.load(f)], float)
    cmp = compare_spaces(errs)
    assert [(p.a, p.b) for p in cmp.pairs] == [("ResNeXt-A_in", "ResNeXt-B_in"), ("ResNeXt-A_in", "DARTS_in"),
                                              ("ResNeXt-B_in", "DARTS_in")]
    for p in cmp.pairs:
        assert p.ks == pytest.approx(brute_ks(errs[p.a].tolist(), errs[p.b].tolist()), abs=1e-12)
        assert p.p_value == pytest.approx(stats.ks_2samp(errs[p.a], errs[p.b]).pvalue)
    assert cmp.pairs[0].p_value < 1e-6  # ResNeXt-B is clearly better than ResNeXt-A
    assert cmp.stats["DARTS_in"].n == 121
    same = ks_test(errs["DARTS_in"], errs["DARTS_in"])
    assert same == (0.0, 1.0)


@pytest.mark.parametrize("replace", [False, True])
def test_random_search_matches_enumeration(replace):
    e = np.array([5.0, 3.0, 3.0, 9.0, 1.0, 7.0, 4.0, 8.0])
    n = len(e)
    for k in (1, 2, 3, 5):
        draws = (itertools.product(range(n), repeat=k) if replace else itertools.combinations(range(n), k))
        best = np.array(sorted(min(e[list(c)]) for c in draws))
        rs = random_search_efficiency(e, ks=[k], replace=replace, band=(0.1, 0.9))
        assert rs.mean[0] == pytest.approx(best.mean(), rel=1e-12)
        # band = smallest value whose CDF reaches the quantile
        for q, got in ((0.1, rs.lo[0]), (0.9, rs.hi[0])):
            assert got == best[int(np.ceil(q * len(best) - 1e-9)) - 1]
    assert survival(n, n)[0] == pytest.approx(1.0) and survival(n, n)[1] == 0.0


def test_random_search_large_population_is_monotone():
    rng = np.random.default_rng(2)
    e = rng.normal(35, 3, 100_000)
    rs = random_search_efficiency(e)
    assert rs.k[0] == 1 and rs.k[-1] == len(e)
    assert rs.mean[0] == pytest.approx(e.mean()) and rs.mean[-1] == pytest.approx(e.min())
    assert np.all(np.diff(rs.mean) <= 1e-12) and np.all(rs.lo <= rs.mean + 1e-9) and np.all(rs.mean <= rs.hi + 1e-9)
    with pytest.raises(ValueError, match="k must be"):
        random_search_efficiency(e[:10], ks=[11])


def test_best_worst_and_curves():
    e = np.array([3.0, np.nan, 1.0, 2.0, 5.0, 4.0])
    best, worst = best_worst(e, 2)
    assert list(best) == [2, 3] and list(worst) == [4, 5]
    x, y = curve_series({"test_error": [50, 40, 30]})
    assert list(x) == [1, 2, 3] and list(y) == [50, 40, 30]
    assert len(curve_series(None)[0]) == 0
    with pytest.raises(ValueError, match="2 epochs but 3"):
        curve_series({"test_error": [1, 2, 3], "epoch": [1, 2]})


def test_population_helpers():
    pop = from_records([{"id": 1, "error": 3.0, "d": 10, "config": {"x": 1}}, {"id": 2, "error": None, "w0": 8}])
    assert size(pop) == 2 and np.isnan(pop["error"][1]) and np.isnan(pop["w0"][0]) and pop["id"].dtype == np.int64
    assert take(pop, [1])["config"] == [None]
    with pytest.raises(ValueError, match="column 'd' has 1 rows"):
        size({"error": np.zeros(2), "d": np.zeros(1)})
    big = synthetic_population(100)
    assert {"flops", "params", "acts", "infer_ms", "d", "w0", "wm", "g", "b", "d_1", "w_4"} <= set(numeric_columns(big))


def test_parameter_importance_finds_the_parameters_that_matter():
    pop = synthetic_population(6000, seed=3)
    pop["noise"] = np.random.default_rng(4).random(6000)
    imps = parameter_importance(pop, params=["d", "wm", "b", "g", "w0", "noise"], seed=0)
    names = [i.name for i in imps]
    assert set(names[:3]) == {"d", "wm", "b"}
    by = {i.name: i for i in imps}
    assert by["noise"].permutation < 0.01 and abs(by["noise"].spearman) < 0.05
    assert by["b"].spearman > 0.2 and by["b"].spearman == pytest.approx(
        stats.spearmanr(pop["b"], pop["error"]).statistic)
    small = parameter_importance({"error": np.arange(10.0), "d": np.arange(10.0)})
    assert np.isnan(small[0].permutation) and small[0].spearman == pytest.approx(1.0)

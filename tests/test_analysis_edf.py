"""EDFs, summaries, DKW band and complexity-normalised EDFs against independent computations."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest

from backend.analysis.edf import dkw_eps, edf_curve, edf_eval, kish_n_eff, summarize
from backend.analysis.normalized import EmptyBinError, common_range, complexity_weights, normalized_edfs


def brute_edf(values: list[float], e: float, weights: list[float] | None = None) -> float:
    """F(e) = sum w_i [e_i < e] / sum w_i, one comparison at a time."""
    w = weights or [1.0] * len(values)
    return sum(wi for v, wi in zip(values, w, strict=True) if v < e) / sum(w)


def probe_points(values: np.ndarray) -> np.ndarray:
    """Every distinct value, just below/above it, midpoints, and beyond both ends."""
    u = np.unique(values)
    mids = (u[1:] + u[:-1]) / 2
    return np.concatenate([u, np.nextafter(u, -np.inf), np.nextafter(u, np.inf), mids, [u[0] - 1, u[-1] + 1]])


@pytest.mark.parametrize("ties", [False, True])
def test_exact_edf_matches_brute_force(ties):
    rng = np.random.default_rng(1)
    e = rng.normal(40, 5, 400)
    if ties:
        e = np.round(e)  # heavy ties: ~40 distinct values
    curve = edf_curve(e, tol=None)
    pts = probe_points(e)
    expect = np.array([brute_edf(list(e), p) for p in pts])
    np.testing.assert_allclose(edf_eval(e, pts), expect, atol=1e-15)
    np.testing.assert_allclose(curve.evaluate(pts), expect, atol=1e-15)
    assert curve.exact and curve.x[0] == e.min() and curve.y[-1] == 1.0
    assert len(curve.x) == len(np.unique(e))
    # strict inequality: at the minimum F is 0, just above it F counts every copy of the minimum
    assert edf_eval(e, [e.min()])[0] == 0.0
    assert edf_eval(e, [np.nextafter(e.min(), np.inf)])[0] == pytest.approx(np.sum(e == e.min()) / len(e))


def test_downsampled_edf_error_bound_and_exact_minimum():
    rng = np.random.default_rng(2)
    e = np.concatenate([rng.gamma(3, 4, 150_000) + 20, np.full(5000, 31.5)])  # a big tie inside
    curve = edf_curve(e, tol=1e-3)
    assert not curve.exact and len(curve.x) <= 1003
    assert curve.x[0] == e.min() and curve.x[-1] == e.max()
    pts = probe_points(e[::7])
    pts = np.concatenate([pts, probe_points(np.array([31.5, e.min(), e.max()]))])
    gap = np.abs(curve.evaluate(pts) - edf_eval(e, pts))
    assert gap.max() <= 1e-3
    assert gap.max() > 1e-4  # it did drop knots (a bound that cannot be reached would prove nothing)


def test_summary_matches_statistics_module():
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 1000):
        e = rng.normal(35, 3, n)
        s = summarize(np.r_[e, np.nan])  # unfinished models (NaN) are not counted
        assert s.n == n
        assert s.min == min(e) and s.max == max(e)
        assert s.mean == pytest.approx(statistics.fmean(e), rel=1e-12)
        assert s.median == pytest.approx(statistics.median(e), rel=1e-12)


def test_dkw_band_width_and_coverage():
    assert dkw_eps(100) == pytest.approx(math.sqrt(math.log(40) / 200))
    rng = np.random.default_rng(4)
    covered = 0
    for _ in range(300):
        u = rng.random(200)
        curve = edf_curve(u, tol=None)
        xs = np.sort(u)
        # sup |F_n - F| for uniform F, on both sides of every jump
        dev = max(np.max(np.arange(1, 201) / 200 - xs), np.max(xs - np.arange(0, 200) / 200))
        covered += dev <= curve.eps
    assert covered / 300 >= 0.93  # nominal 95%, DKW is conservative


def test_weighted_edf_brute_force_and_equal_weights():
    rng = np.random.default_rng(5)
    e = np.round(rng.normal(40, 4, 300), 1)
    w = rng.random(300)
    pts = probe_points(e)
    expect = [brute_edf(list(e), p, list(w)) for p in pts]
    np.testing.assert_allclose(edf_curve(e, w, tol=None).evaluate(pts), expect, atol=1e-12)
    np.testing.assert_allclose(edf_curve(e, np.full(300, 0.25), tol=None).evaluate(pts), edf_eval(e, pts),
                               atol=1e-12)
    assert kish_n_eff(np.ones(10)) == pytest.approx(10)
    assert kish_n_eff(np.array([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)


def test_normalized_weights_sum_to_one_and_bins_are_uniform():
    rng = np.random.default_rng(6)
    comp = {"A": rng.uniform(1e8, 6e8, 2000), "B": rng.lognormal(np.log(4e8), 0.3, 3000)}
    c_lo, c_hi = common_range(comp)
    assert c_lo == max(comp["A"].min(), comp["B"].min()) and c_hi == min(comp["A"].max(), comp["B"].max())
    for label, c in comp.items():
        norm = complexity_weights(c, c_lo, c_hi, bins=8, label=label)
        assert norm.weights.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(norm.weights[(c < c_lo) | (c > c_hi)] == 0)
        # every bin carries 1/B of the weight
        k = np.minimum(((c - c_lo) / (c_hi - c_lo) * 8).astype(int), 7)
        inside = (c >= c_lo) & (c <= c_hi)
        per_bin = np.bincount(k[inside], weights=norm.weights[inside], minlength=8)
        np.testing.assert_allclose(per_bin, np.full(8, 1 / 8), atol=1e-12)


def test_normalized_equals_plain_when_complexity_is_uniform():
    rng = np.random.default_rng(7)
    bins = 10
    c = np.r_[0.0, np.repeat(np.linspace(0.05, 0.95, bins), 30), 1.0]  # 30 models per bin, and the range ends
    e = rng.normal(30, 2, len(c))
    res = normalized_edfs({"X": e}, {"X": c}, bins=bins, tol=None)
    curve, norm = res["X"]
    inner = e[1:-1]  # the models exactly on the ends of the range get no weight (as in NDS)
    np.testing.assert_allclose(norm.weights, np.r_[0.0, np.full(len(inner), 1 / len(inner)), 0.0])
    pts = probe_points(inner)
    np.testing.assert_allclose(curve.evaluate(pts), edf_eval(inner, pts), atol=1e-12)
    assert curve.summary.n_eff == pytest.approx(len(inner))


def test_empty_bin_is_a_clear_error():
    c = np.r_[np.linspace(0, 1, 50), np.linspace(3, 4, 50)]
    # bins [0,1] [1,2] [2,3] [3,4]: the value 1.0 lands in bin 2, nothing in bin 3
    with pytest.raises(EmptyBinError, match=r"MySpace: complexity bin 3 of 4 \[2, 3\] holds no model") as info:
        complexity_weights(c, 0.0, 4.0, bins=4, label="MySpace")
    assert "use at most 2 bins" in str(info.value)
    assert complexity_weights(c, 0.0, 4.0, bins=2).weights.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="do not overlap"):
        common_range({"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])})


# ----------------------------------------------------------------------------------------------------
# Real NDS populations (reference_dir/nds): numbers computed independently with awk (sort -g, counts)

NDS_FACTS = {
    "ResNeXt-A_in": dict(n=130, min=29.984, max=81.264, mean=52.804215, median=(50.28 + 50.462) / 2,
                         F={30: 1, 35: 11, 40: 24, 50: 63, 60: 91}),
    "ResNeXt-B_in": dict(n=164, min=27.454, max=65.426, mean=39.187598, median=(37.91 + 37.998) / 2,
                         F={30: 7, 35: 56, 40: 98, 50: 150, 60: 162}),
    "DARTS_in": dict(n=121, min=28.0, max=46.096, mean=33.748066, median=32.412,
                     F={30: 18, 35: 80, 40: 108, 50: 121, 60: 121}),
}


def load_nds(reference_dir, name):
    with open(reference_dir / "nds" / f"{name}.json") as f:
        return json.load(f)  # the files may hold bare NaN tokens; Python's json accepts them


@pytest.mark.parametrize("name", sorted(NDS_FACTS))
def test_nds_edf_and_stats(reference_dir, name):
    recs = load_nds(reference_dir, name)
    e = np.array([r["min_test_top1"] for r in recs], dtype=float)
    facts = NDS_FACTS[name]
    s = summarize(e)
    assert s.n == facts["n"] and s.min == facts["min"] and s.max == facts["max"]
    assert s.mean == pytest.approx(facts["mean"], abs=1e-6)
    assert s.median == pytest.approx(facts["median"], abs=1e-9)
    curve = edf_curve(e)
    for x, count in facts["F"].items():
        assert curve.evaluate([x])[0] == pytest.approx(count / facts["n"], abs=1e-15)


def test_nds_normalized_by_flops(reference_dir):
    data = {k: load_nds(reference_dir, k) for k in ("ResNeXt-A_in", "ResNeXt-B_in")}
    errs = {k: [r["min_test_top1"] for r in v] for k, v in data.items()}
    flops = {k: [float(r["flops"]) for r in v] for k, v in data.items()}
    c_lo, c_hi = 117457736.0, 3610644840.0  # awk: largest minimum, smallest maximum
    res = normalized_edfs({k: np.array(v) for k, v in errs.items()}, {k: np.array(v) for k, v in flops.items()},
                          bins=10, log=True)
    for label, (curve, norm) in res.items():
        assert (norm.c_lo, norm.c_hi) == (c_lo, c_hi)
        assert norm.weights.sum() == pytest.approx(1.0)
        # independent: count models per log bin in plain Python, weighted mean = sum e / (B n_k)
        step = (math.log(c_hi) - math.log(c_lo)) / 10
        bin_of = {i: min(int((math.log(c) - math.log(c_lo)) / step), 9)
                  for i, c in enumerate(flops[label]) if c_lo < c < c_hi}
        counts = {b: list(bin_of.values()).count(b) for b in range(10)}
        w = {i: 1 / (10 * counts[b]) for i, b in bin_of.items()}
        assert curve.summary.mean == pytest.approx(sum(errs[label][i] * wi for i, wi in w.items()), rel=1e-12)
        assert curve.summary.n == len(w)
        assert curve.summary.n_eff == pytest.approx(sum(w.values()) ** 2 / sum(x * x for x in w.values()))
    with pytest.raises(EmptyBinError, match=r"ResNeXt-A_in: complexity bin 5 of 5 .* or log-spaced bins"):
        normalized_edfs({k: np.array(v) for k, v in errs.items()}, {k: np.array(v) for k, v in flops.items()},
                        bins=5)


def test_models_on_the_ends_of_the_common_range_get_no_weight_as_in_nds(reference_dir):
    """NDS keeps models strictly inside the common complexity range. On ResNeXt-A vs ResNeXt-B with 3 linear
    flops bins, keeping the ends too (the closed interval netspace used) moves the curves by sup |dF| = 0.111."""
    errs, flops = {}, {}
    for k in ("ResNeXt-A_in", "ResNeXt-B_in"):
        runs = load_nds(reference_dir, k)
        e = np.array([r["min_test_top1"] for r in runs], dtype=float)
        errs[k] = e[np.isfinite(e)]  # as normalized_edfs keeps them
        flops[k] = np.array([float(r["flops"]) for r in runs])[np.isfinite(e)]
    res = normalized_edfs(errs, flops, bins=3, tol=None)
    worst, on_ends = 0.0, 0
    for k, (curve, norm) in res.items():
        c = flops[k]
        assert (norm.weights[(c == norm.c_lo) | (c == norm.c_hi)] == 0).all()
        on_ends += int(((c == norm.c_lo) | (c == norm.c_hi)).sum())
        closed = (c >= norm.c_lo) & (c <= norm.c_hi)  # the other convention, computed here by hand
        k_of = np.minimum(((c[closed] - norm.c_lo) / (norm.c_hi - norm.c_lo) * 3).astype(int), 2)
        w = np.zeros(len(c))
        w[closed] = 1 / (3 * np.bincount(k_of, minlength=3)[k_of])
        pts = probe_points(errs[k])
        order = np.argsort(errs[k])
        cum = np.r_[0.0, np.cumsum(w[order])]
        f_closed = cum[np.searchsorted(errs[k][order], pts, side="left")]  # F just below each point, as evaluate
        worst = max(worst, float(np.abs(curve.evaluate(pts) - f_closed).max()))
    assert on_ends >= 2 and round(worst, 3) == 0.111  # the range's ends are models of the two spaces

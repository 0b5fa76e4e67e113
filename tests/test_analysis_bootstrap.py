"""The best-range bootstrap against a slow reference loop, and its law against the literal resampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from backend.analysis.bootstrap import best_ranges, bootstrap_winners, sample_size


def py_percentile(values: list[float], q: float) -> float:
    """numpy's default (linear) percentile, in plain Python."""
    v = sorted(values)
    pos = (len(v) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def slow_best_range(errors, xs, repeats, fraction, seed):
    """One repeat at a time, with the same uniforms in the same order as the fast code: the lowest rank
    drawn is the number of k >= 1 with P(min rank >= k) = (1 - k/n)^m >= u; a second uniform v picks one of
    the models tied at that error."""
    rng = np.random.default_rng(seed)
    n = len(errors)
    m = max(1, int(fraction * n))
    order = sorted(range(n), key=lambda i: (errors[i], i))
    us, vs = rng.random(repeats).tolist(), rng.random(repeats).tolist()
    winners = []
    for u, v in zip(us, vs, strict=True):
        r = 0
        while r + 1 < n and (1 - (r + 1) / n) ** m >= u:
            r += 1
        tied = [i for i in order if errors[i] == errors[order[r]]]
        winners.append(tied[int(v * len(tied))])
    return {name: [py_percentile([x[w] for w in winners], q) for q in (2.5, 50, 97.5)] for name, x in xs.items()}


@pytest.mark.parametrize("n,ties", [(40, False), (500, False), (500, True)])
def test_matches_slow_reference_loop_with_same_seed(n, ties):
    rng = np.random.default_rng(n)
    e = rng.normal(35, 3, n)
    if ties:
        e = np.round(e)
    xs = {"d": rng.integers(8, 40, n).astype(float), "wm": rng.uniform(1.5, 3, n), "flops": rng.uniform(3e8, 4e8, n)}
    fast = best_ranges(e, xs, repeats=2000, seed=11)
    slow = slow_best_range(e.tolist(), {k: v.tolist() for k, v in xs.items()}, 2000, 0.25, 11)
    for name in xs:
        got = fast[name]
        assert [got.lo, got.median, got.hi] == pytest.approx(slow[name], rel=1e-12), name
        assert got.n == n and got.repeats == 2000


def literal_winners(e: np.ndarray, repeats: int, fraction: float, seed: int) -> np.ndarray:
    """The paper's procedure verbatim: resample m models with replacement, keep the argmin."""
    rng = np.random.default_rng(seed)
    m = sample_size(len(e), fraction)
    idx = rng.integers(0, len(e), size=(repeats, m))
    return idx[np.arange(repeats), np.argmin(e[idx], axis=1)]


def test_winner_law_equals_literal_resampling():
    rng = np.random.default_rng(0)
    n, repeats = 200, 20_000
    e = rng.normal(35, 3, n)
    rank = np.empty(n, dtype=int)
    rank[np.argsort(e)] = np.arange(n)
    fast = rank[bootstrap_winners(e, repeats, 0.25, seed=1)]
    slow = rank[literal_winners(e, repeats, 0.25, seed=2)]
    m = sample_size(n)
    # both against the exact law P(R >= r) = (1 - r/n)^m, on ranks 0..9 and the rest pooled
    surv = (1 - np.arange(11) / n) ** m
    pmf = np.r_[surv[:-1] - surv[1:], surv[-1]]
    for ranks in (fast, slow):
        observed = np.r_[np.bincount(np.minimum(ranks, 10), minlength=11)]
        assert stats.chisquare(observed, pmf * repeats).pvalue > 1e-3
    assert stats.ks_2samp(fast, slow).pvalue > 1e-3


def test_ties_share_the_win():
    e = np.array([1.0, 1.0, 1.0, 5.0, 6.0, 7.0, 8.0, 9.0] * 5)  # 15 models tied for best
    w = bootstrap_winners(e, 30_000, seed=3)
    counts = np.bincount(w, minlength=len(e))[e == 1.0]
    assert counts.sum() > 0.95 * 30_000
    assert stats.chisquare(counts).pvalue > 1e-3  # each tied model equally likely, as with argmin


def test_recovers_a_known_optimum_and_is_seeded():
    rng = np.random.default_rng(5)
    n = 5000
    d = rng.integers(4, 60, n).astype(float)
    e = 30 + 0.05 * (d - 20) ** 2 + rng.normal(0, 0.5, n)
    r = best_ranges(e, {"d": d, "noise": rng.random(n)})
    assert r["d"].lo <= 20 <= r["d"].hi and abs(r["d"].median - 20) <= 1 and r["d"].hi - r["d"].lo <= 6
    assert r["noise"].hi - r["noise"].lo > 0.8  # an irrelevant parameter gets a wide range
    assert best_ranges(e, {"d": d}, seed=7)["d"] == best_ranges(e, {"d": d}, seed=7)["d"]


def test_nan_rows_and_parameters():
    e = np.array([3.0, np.nan, 1.0, 2.0, 4.0] * 20)
    x = np.array([30.0, 999.0, 10.0, 20.0, 40.0] * 20)
    w0 = np.where(np.arange(100) % 2 == 0, x, np.nan)  # defined for half the models
    r = best_ranges(e, {"x": x, "w0": w0, "none": np.full(100, np.nan)}, repeats=500)
    assert r["x"].n == 80 and r["x"].median == 10.0  # the NaN-error model (x = 999) never wins
    assert r["w0"].median == 10.0
    assert np.isnan(r["none"].median)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_winners(np.array([1.0, np.nan]))

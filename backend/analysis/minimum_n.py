"""The minimum n of every statistic a figure draws, in one place; below it the figure says why it is absent.

A statistic drawn from too few models looks like a finding and is noise: a "binned median" through 8 points
zigzags through every one of them, a bootstrap "best range" from 8 models covers the axis, a KS p-value from
5 against 5 can only ever flag complete separation. Every figure builder (backend/figures) asks this module
whether it may draw a statistic; when it may not, the panel carries the reason instead, e.g.
"trend omitted: n=8 < 30 needed for a binned median (3 bins of >= 10 models)". EDFs and their DKW bands are
not gated: the band widens honestly as n shrinks. The derivations are in docs/statistics.md.

Pure numpy: no figures, no database, no web.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rule:
    """A statistic and the n below which it is not shown; `needs` completes "... needed for <needs>"."""

    name: str
    min_n: int
    needs: str

    def absent(self, n: int, unit: str = "") -> str | None:
        """None when n is enough; else the one-line reason the figure shows instead of the statistic."""
        if n >= self.min_n:
            return None
        return f"{self.name} omitted: n={n}{unit} < {self.min_n} needed for {self.needs}"


#: a bin's median needs 10 models: up to 8 models the distribution-free 95% interval of a median is the whole
#: bin (min to max); from 9 it excludes both extremes (at 10: 2nd to 9th order statistic, coverage 97.9%)
TREND_PER_BIN = 10
#: a trend needs 3 bins: two points make a segment, not a shape
TREND_MIN_BINS = 3
TREND = Rule("trend", TREND_PER_BIN * TREND_MIN_BINS,
             f"a binned median ({TREND_MIN_BINS} bins of >= {TREND_PER_BIN} models)")

#: the bootstrap resamples m = n/4 models and keeps the best; its winner lies, on average, in the best
#: 1/(m+1) of the population. Below m = 5 (n < 20) that is more than the best 17%: the better part, not the best
BEST_RANGE = Rule("best range", 20, "the bootstrap of the best models (resamples of n/4 >= 5 models)")
#: from m = 10 (n = 40) the winner is typically from the best ~9%: the range is shown whatever its width
BEST_RANGE_SURE_N = 40
#: between 20 and 40 it is shown only when it is informative: narrower than this fraction of the x axis
BEST_RANGE_MAX_SPAN = 1 / 3

#: a least-squares law needs 10 models per fitted coefficient (the usual events-per-variable rule; below
#: it R^2 and the coefficients follow individual models)
FIT_PER_COEF = 10
#: a correlation (Spearman's rho, Pearson's r) needs 10 models: under no relation its standard deviation is
#: about 1/sqrt(n-1) = 0.33 at 10, so only |rho| > 0.65 could be told from noise at all
CORRELATION = Rule("correlation", 10, "a correlation coefficient")
#: permutation importance fits a model on 75% and scores R^2 on 25% held out: 30 to fit, 10 to score
IMPORTANCE = Rule("permutation importance", 40, "a held-out R^2 (30 models to fit, 10 held out)")
#: the KS p-value per side: at 20 against 20 the 5% critical gap is 1.36 sqrt(2/20) = 0.43; at 8 against 8
#: it is 0.68, so all but a complete separation of the EDFs reads "no difference" whatever the truth
KS = Rule("KS p-value", 20, "a two-sample KS verdict")
#: what a table cell holds instead of the p-value (the full reason goes with the figure's meta)
KS_CELL = f"n/a: < {KS.min_n} per side"


def brief(reason: str) -> str:
    """A reason cut to what fits a small panel ("trend omitted: n=8 < 30"); the whole one goes with it as hover
    text and in the figure's meta."""
    cut = min((i for i in (reason.find(s) for s in (" needed for", " (shown", ";")) if i > 0), default=len(reason))
    return reason[:cut]


def fit_rule(coefficients: int) -> Rule:
    """The minimum n of a fitted law with this many coefficients."""
    return Rule("fitted law", FIT_PER_COEF * coefficients, f"a {coefficients}-coefficient least-squares fit")


def trend_bins(n: int, requested: int) -> int:
    """How many quantile bins a trend over n models may use: each must hold >= TREND_PER_BIN models."""
    return max(0, min(requested, n // TREND_PER_BIN))


def trend_absent(n: int, counts: np.ndarray) -> str | None:
    """None when the bins that hold >= TREND_PER_BIN models are at least TREND_MIN_BINS; else the reason."""
    reason = TREND.absent(n)
    if reason is not None:
        return reason
    full = int((np.asarray(counts) >= TREND_PER_BIN).sum())
    if full < TREND_MIN_BINS:
        return (f"trend omitted: only {full} value group{'s' if full != 1 else ''} of >= {TREND_PER_BIN} models "
                f"(n={n}); {TREND_MIN_BINS} needed for a binned median")
    return None


def best_range_absent(n: int, lo: float, hi: float, x: np.ndarray, log: bool) -> str | None:
    """None when the bootstrap best range [lo, hi] of n models may be shown against data x; else the reason.

    n >= BEST_RANGE_SURE_N: always shown. BEST_RANGE.min_n <= n < BEST_RANGE_SURE_N: shown when it spans less
    than BEST_RANGE_MAX_SPAN of the data's x range (in log space on a log axis). Fewer: never.
    """
    reason = BEST_RANGE.absent(n)
    if reason is not None or n >= BEST_RANGE_SURE_N:
        return reason
    v = np.asarray(x, dtype=np.float64)
    v = v[np.isfinite(v)]
    if log:
        v = np.log(v[v > 0])
        lo, hi = (float(np.log(lo)), float(np.log(hi))) if lo > 0 and hi > 0 else (-np.inf, np.inf)
    span = float(np.ptp(v)) if len(v) else 0.0
    share = (hi - lo) / span if span > 0 else 1.0
    if share < BEST_RANGE_MAX_SPAN:
        return None
    return (f"best range omitted: n={n} and it spans {min(share, 1.0):.0%} of the axis (shown from "
            f"n={BEST_RANGE_SURE_N}, or when narrower than {BEST_RANGE_MAX_SPAN:.0%})")


def ks_absent(n_a: int, n_b: int) -> str | None:
    """None when both sides have >= KS.min_n models; else why the KS p-value is not given."""
    n = min(n_a, n_b)
    if n >= KS.min_n:
        return None
    return f"{KS.name} omitted: n={n_a} vs {n_b} < {KS.min_n} per side needed for {KS.needs}"


__all__ = ["BEST_RANGE", "BEST_RANGE_MAX_SPAN", "BEST_RANGE_SURE_N", "CORRELATION", "FIT_PER_COEF", "IMPORTANCE",
           "KS", "KS_CELL", "Rule", "TREND", "TREND_MIN_BINS", "TREND_PER_BIN", "best_range_absent", "brief",
           "fit_rule", "ks_absent", "trend_absent", "trend_bins"]

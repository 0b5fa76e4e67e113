"""Empirical bootstrap of the range that holds the best models (RegNet paper §3.1, footnote 4).

The procedure: R times, sample m = floor(0.25 n) of the n (x_i, e_i) pairs with replacement and keep the
one with the lowest error; report the 2.5/50/97.5 percentiles of the kept x (a 95% interval and the most
likely best value). The paper uses R = 10^4 (pycls 2,500, unseeded); here R = 10^4 and seeded.

Vectorisation: the winner of a repeat does not depend on the parameter, so winners are drawn once and every
parameter's values are read at them in one gather (R x P) and one percentile call.

Drawing a winner in O(1) instead of O(m): sort the models by error. The lowest rank drawn is the minimum of
m iid uniform ranks on {0..n-1}, whose law is P(min >= r) = (1 - r/n)^m; inverting it with one uniform U gives
min = floor(n (1 - U^(1/m))). Its error is the repeat's minimum error. When several models tie at that error,
argmin over a random sample returns each of them with equal probability (exchangeability), so a second
uniform picks one of the tied models. Each repeat thus has exactly the law of the literal
resample-and-argmin, at a cost independent of m (10^4 repeats on 10^5 models: the literal loop gathers
2.5e8 indices; this draws 2 x 10^4 numbers).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

REPEATS = 10_000
FRACTION = 0.25


@dataclass(frozen=True)
class BestRange:
    """95% interval [lo, hi] and median of a parameter's value at the bootstrap winners."""

    lo: float
    median: float
    hi: float
    n: int
    repeats: int

    def as_dict(self) -> dict[str, float]:
        return {"lo": self.lo, "median": self.median, "hi": self.hi, "n": self.n, "repeats": self.repeats}


def sample_size(n: int, fraction: float = FRACTION) -> int:
    """m = floor(fraction * n), at least 1 (pycls's int(sample * n))."""
    return max(1, int(fraction * n))


def min_rank(u: np.ndarray, n: int, m: int) -> np.ndarray:
    """Inverse CDF of the minimum of m iid uniform ranks on {0..n-1}: floor(n (1 - u^(1/m)))."""
    with np.errstate(divide="ignore"):
        one_minus_v = -np.expm1(np.log(u) / m)  # 1 - u^(1/m) without cancellation for large m
    ranks: np.ndarray = np.minimum(np.floor(n * one_minus_v).astype(np.int64), n - 1)
    return ranks


def _lowest_in_order(e: np.ndarray, r_max: int) -> np.ndarray:
    """Indices of every model with error <= the (r_max)-th smallest, ordered by (error, index).

    Winners have small ranks (about n/m), so one partition plus a sort of that short head replaces a full
    stable sort; tie groups are complete because every model at the threshold error is included.
    """
    threshold = np.partition(e, r_max)[r_max]
    head = np.flatnonzero(e <= threshold)  # in index order, so a stable sort by error orders ties by index
    return head[np.argsort(e[head], kind="stable")]


def bootstrap_winners(errors: np.ndarray, repeats: int = REPEATS, fraction: float = FRACTION,
                      seed: int = 0) -> np.ndarray:
    """Indices (into `errors`, all finite) of the min-error model of each of `repeats` resamples."""
    e = np.asarray(errors, dtype=np.float64)
    if len(e) == 0 or not np.isfinite(e).all():
        raise ValueError("bootstrap: errors must be non-empty and finite")
    if repeats < 1 or not 0 < fraction <= 1:
        raise ValueError(f"bootstrap: need repeats >= 1 and 0 < fraction <= 1 (got {repeats}, {fraction})")
    rng = np.random.default_rng(seed)
    ranks = min_rank(rng.random(repeats), len(e), sample_size(len(e), fraction))
    order = _lowest_in_order(e, int(ranks.max()))
    xs = e[order]
    first = np.searchsorted(xs, xs[ranks], side="left")  # the tie group of the minimum error
    count = np.searchsorted(xs, xs[ranks], side="right") - first
    pick = first + np.minimum((rng.random(repeats) * count).astype(np.int64), count - 1)
    picked: np.ndarray = order[pick]
    return picked


def best_ranges(errors: np.ndarray, params: Mapping[str, np.ndarray], repeats: int = REPEATS,
                fraction: float = FRACTION, seed: int = 0, level: float = 0.95) -> dict[str, BestRange]:
    """Bootstrap best range of every parameter at once, over the models with a finite error.

    A parameter that is NaN for some winners (e.g. w0 in a mixed AnyNet/RegNet population) is summarised over
    the winners where it is defined; all-NaN gives NaN.
    """
    e = np.asarray(errors, dtype=np.float64)
    keep = np.isfinite(e)
    names = list(params)
    if not names:
        return {}
    cols = np.column_stack([np.asarray(params[k], dtype=np.float64)[keep] for k in names])
    winners = bootstrap_winners(e[keep], repeats, fraction, seed)
    at = cols[winners]
    q = [50 * (1 - level), 50, 50 * (1 + level)]
    if np.isnan(at).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as documented
            pct = np.nanpercentile(at, q, axis=0)
    else:
        pct = np.percentile(at, q, axis=0)
    n = int(keep.sum())
    return {k: BestRange(float(pct[0, i]), float(pct[1, i]), float(pct[2, i]), n, repeats)
            for i, k in enumerate(names)}

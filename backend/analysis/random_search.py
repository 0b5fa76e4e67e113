"""Random-search efficiency (paper Fig. 9): the best error among k models drawn from a population, vs k.

Computed exactly from order statistics, not by simulation. With errors sorted e_(0) <= ... <= e_(n-1) the
best of k draws is e_(R) where R is the minimum rank drawn, and
- without replacement (k distinct models, a real random search; the default): P(R >= i) = C(n-i, k) / C(n, k);
- with replacement: P(R >= i) = ((n - i) / n)^k.
The expectation is sum_i e_(i) P(R = i) and the band is the chosen quantiles of e_(R).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BAND = (0.1, 0.9)


@dataclass(frozen=True)
class RandomSearchCurve:
    k: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    band: tuple[float, float]
    replace: bool
    n: int


def survival(n: int, k: int, replace: bool = False) -> np.ndarray:
    """P(R >= i) for i = 0..n (the minimum rank among k draws from n)."""
    from scipy.special import gammaln  # imported here: keeps scipy out of the API's start-up

    i = np.arange(n + 1, dtype=np.float64)
    if replace:
        return ((n - i) / n) ** k
    if k > n:
        raise ValueError(f"k = {k} distinct models cannot be drawn from n = {n}")
    out = np.zeros(n + 1)
    ok = i <= n - k
    m = n - i[ok]
    out[ok] = np.exp(gammaln(m + 1) - gammaln(m - k + 1) - gammaln(n + 1) + gammaln(n - k + 1))
    return out


def default_ks(n: int, count: int = 40) -> np.ndarray:
    """About `count` log-spaced k from 1 to n."""
    return np.unique(np.round(np.geomspace(1, max(n, 1), count)).astype(np.int64))


def random_search_efficiency(errors: np.ndarray, ks: np.ndarray | None = None, replace: bool = False,
                             band: tuple[float, float] = DEFAULT_BAND) -> RandomSearchCurve:
    """Expected best error of k random models and its `band` quantiles, for every k in `ks`."""
    e = np.asarray(errors, dtype=np.float64)
    e = np.sort(e[np.isfinite(e)])
    n = len(e)
    if n == 0:
        raise ValueError("random search: no finite errors")
    ks = default_ks(n) if ks is None else np.asarray(ks, dtype=np.int64)
    if (ks < 1).any() or (not replace and (ks > n).any()):
        raise ValueError(f"random search: k must be in [1, {n}] without replacement (got {ks.min()}..{ks.max()})")
    mean = np.empty(len(ks))
    lo = np.empty(len(ks))
    hi = np.empty(len(ks))
    for j, k in enumerate(ks):
        s = survival(n, int(k), replace)
        p = s[:-1] - s[1:]  # P(R = i)
        mean[j] = float(np.dot(p, e))
        cdf = 1.0 - s[1:]  # P(R <= i)
        lo[j], hi[j] = e[np.minimum(np.searchsorted(cdf, np.asarray(band) - 1e-12), n - 1)]
    return RandomSearchCurve(ks, mean, lo, hi, band, replace, n)

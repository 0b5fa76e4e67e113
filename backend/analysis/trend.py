"""Error against a parameter: a binned trend (median and quartiles of the error in quantile bins of x).

Quantile bins hold equal numbers of models, so each bin's median is equally reliable wherever x is dense or
sparse; a parameter with few distinct values (g, b, d_i) is binned by value instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BINS = 10


@dataclass(frozen=True)
class Trend:
    """Per bin: median x, median and quartiles of the error, model count; bins ordered by x."""

    x: np.ndarray
    median: np.ndarray
    q1: np.ndarray
    q3: np.ndarray
    count: np.ndarray
    by_value: bool


def binned_trend(x: np.ndarray, y: np.ndarray, bins: int = DEFAULT_BINS) -> Trend:
    """Median/quartile trend of y over quantile bins of x (rows with both finite only).

    One sort of x gives everything on the x side: the number of distinct values, the quantile edges (numpy's
    linear interpolation) and each bin as a contiguous run (its median x is the run's middle); a bin is
    [edge_k, edge_k+1) and the last one is closed. y's quartiles take one partition per bin.
    """
    if bins < 1:
        raise ValueError(f"bins: must be >= 1, got {bins}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = len(x)
    if n == 0:
        empty = np.zeros(0)
        return Trend(empty, empty, empty, empty, np.zeros(0, dtype=np.int64), False)
    order = np.argsort(x)  # order among equal x is irrelevant: a bin never splits a run of equal values
    xs, ys = x[order], y[order]
    change = np.flatnonzero(xs[1:] != xs[:-1]) + 1
    by_value = len(change) + 1 <= bins
    if by_value:
        starts = np.r_[0, change, n]
    else:
        pos = np.linspace(0, 1, bins + 1)[1:-1] * (n - 1)
        lo = np.floor(pos).astype(np.int64)
        edges = np.unique(xs[lo] + (xs[np.minimum(lo + 1, n - 1)] - xs[lo]) * (pos - lo))
        starts = np.r_[0, np.searchsorted(xs, edges, side="left"), n]
    counts = np.diff(starts)
    ok = counts > 0
    starts, counts = starts[:-1][ok], counts[ok]
    out = np.empty((4, len(counts)))
    for k, (s0, c) in enumerate(zip(starts, counts, strict=True)):
        seg = xs[s0:s0 + c]
        out[0, k] = seg[c // 2] if c % 2 else (seg[c // 2 - 1] + seg[c // 2]) / 2
        out[1:, k] = np.percentile(ys[s0:s0 + c], [50, 25, 75])
    return Trend(out[0], out[1], out[2], out[3], counts.astype(np.int64), by_value)

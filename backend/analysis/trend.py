"""Error against a parameter: a binned trend (median and quartiles of the error in quantile bins of x).

Quantile bins hold equal numbers of models, so each bin's median is equally reliable wherever x is dense or
sparse; a parameter with few distinct values (g, b, d_i) is binned by value instead. O(n) per parameter:
bins by one searchsorted, groups by a radix argsort of the small bin index, then a partition per bin.
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
    """Median/quartile trend of y over quantile bins of x (rows with both finite only)."""
    if bins < 1:
        raise ValueError(f"bins: must be >= 1, got {bins}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) == 0:
        empty = np.zeros(0)
        return Trend(empty, empty, empty, empty, np.zeros(0, dtype=np.int64), False)
    values = np.unique(x) if len(x) <= 4096 else None
    if values is None:  # avoid a full sort for large n: a distinct-value check on a sample first
        sample = np.unique(x[:: max(1, len(x) // 4096)])
        values = np.unique(x) if len(sample) <= bins else None
    by_value = values is not None and len(values) <= bins
    if by_value:
        idx = np.searchsorted(values, x)
        nb = len(values)
    else:
        inner = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]))
        idx = np.searchsorted(inner, x, side="right")
        nb = len(inner) + 1
    idx = idx.astype(np.int16)
    order = np.argsort(idx, kind="stable")
    counts = np.bincount(idx, minlength=nb)
    starts = np.r_[0, np.cumsum(counts)]
    xs, ys = x[order], y[order]
    out = np.full((4, nb), np.nan)
    for k in range(nb):
        if counts[k] == 0:
            continue
        seg = slice(starts[k], starts[k + 1])
        out[0, k] = np.median(xs[seg])
        out[1:, k] = np.percentile(ys[seg], [50, 25, 75])
    ok = counts > 0
    return Trend(out[0, ok], out[1, ok], out[2, ok], out[3, ok], counts[ok], by_value)

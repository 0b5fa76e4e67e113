"""Comparing design spaces: per-space n/min/mean/median and two-sample Kolmogorov-Smirnov tests.

The KS statistic is the largest vertical gap between two error EDFs, so it is the number that matches what
the overlaid EDF plot shows; the p-value (scipy.stats.ks_2samp, exact for small samples) says whether that
gap could be sampling noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .edf import Summary, summarize


@dataclass(frozen=True)
class PairTest:
    """KS test between spaces a and b (statistic in [0, 1], two-sided p-value)."""

    a: str
    b: str
    ks: float
    p_value: float


@dataclass(frozen=True)
class Comparison:
    stats: dict[str, Summary]
    pairs: list[PairTest]


def ks_test(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic and p-value over the finite values of a and b."""
    from scipy import stats  # imported here: scipy.stats adds ~2 s to the API's start-up

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    res = stats.ks_2samp(a[np.isfinite(a)], b[np.isfinite(b)])
    return float(res.statistic), float(res.pvalue)


def compare_spaces(errors: Mapping[str, np.ndarray]) -> Comparison:
    """Summary of every space and a KS test for every pair (in the given order)."""
    summ = {label: summarize(e) for label, e in errors.items()}
    pairs = [PairTest(a, b, *ks_test(errors[a], errors[b])) for a, b in combinations(list(errors), 2)]
    return Comparison(summ, pairs)

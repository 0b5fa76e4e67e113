"""Complexity fits of paper Fig. 12: acts ~ sqrt(flops), params ~ flops, runtime ~ a flops + b sqrt(flops) + c.

Ordinary least squares on basis functions of x. Columns are scaled to unit max before solving, because raw
flops (1e8..1e10) next to a constant make the normal equations badly conditioned; the coefficients are
scaled back. R^2 and Pearson r are reported so the figure can say how well each law holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Basis = dict[str, Callable[[np.ndarray], np.ndarray]]

SQRT: Basis = {"a": np.sqrt, "c": np.ones_like}
LINEAR: Basis = {"a": lambda x: x, "c": np.ones_like}
RUNTIME: Basis = {"a": lambda x: x, "b": np.sqrt, "c": np.ones_like}


@dataclass(frozen=True)
class LinearFit:
    """y ~ sum_k coef[k] * basis[k](x): coefficients, R^2 and the number of points used."""

    coef: dict[str, float]
    r2: float
    n: int
    basis: Basis

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        for k, c in self.coef.items():
            out = out + c * self.basis[k](x)
        return out


def fit_basis(x: np.ndarray, y: np.ndarray, basis: Basis) -> LinearFit:
    """Least-squares fit of y on the basis functions of x (rows with finite x and y only)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < len(basis):
        raise ValueError(f"fit: need at least {len(basis)} points with finite values, got {len(x)}")
    A = np.column_stack([np.broadcast_to(f(x), x.shape) for f in basis.values()]).astype(np.float64)
    scale = np.abs(A).max(axis=0)
    scale[scale == 0] = 1.0
    sol, *_ = np.linalg.lstsq(A / scale, y, rcond=None)
    coef = sol / scale
    resid = y - A @ coef
    tss = float(np.square(y - y.mean()).sum())
    r2 = 1.0 - float(np.square(resid).sum()) / tss if tss > 0 else 1.0
    return LinearFit({k: float(c) for k, c in zip(basis, coef, strict=True)}, r2, len(x), basis)


def sqrt_fit(x: np.ndarray, y: np.ndarray) -> LinearFit:
    """y ~ a sqrt(x) + c (activations against flops)."""
    return fit_basis(x, y, SQRT)


def linear_fit(x: np.ndarray, y: np.ndarray) -> LinearFit:
    """y ~ a x + c (parameters against flops)."""
    return fit_basis(x, y, LINEAR)


def runtime_fit(flops: np.ndarray, runtime: np.ndarray) -> LinearFit:
    """runtime ~ a flops + b sqrt(flops) + c (the paper's runtime model)."""
    return fit_basis(flops, runtime, RUNTIME)


def pearson(x: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Pearson r, its two-sided p-value and n over rows where both are finite (NaN with < 3 rows)."""
    from scipy import stats  # imported here: scipy.stats adds ~2 s to the API's start-up

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    n = int(keep.sum())
    if n < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return float("nan"), float("nan"), n
    res = stats.pearsonr(x[keep], y[keep])
    return float(res.statistic), float(res.pvalue), n

"""Error EDFs: exact steps, a downsampled curve with a proven vertical error bound, and a DKW band.

The paper's definition is used throughout: F(e) = (1/n) * #{e_i < e} (strict inequality), so F is
left-continuous and jumps *after* each observed error; the curve's knots are (x_k, F(x_k+)) = (x_k, fraction
of errors <= x_k), drawn as a horizontal-then-vertical step. pycls's plot (i/n against sorted errors) is the
same staircase.

Band: the Dvoretzky-Kiefer-Wolfowitz inequality with Massart's constant gives a *simultaneous* band
F_n +- eps, eps = sqrt(ln(2/alpha) / (2 n)), holding with probability >= 1 - alpha for iid samples. It needs no
random numbers, so it is reproducible by construction, and costs nothing at 10^6 models. For a weighted
(complexity-normalised) EDF n is replaced by Kish's effective sample size, an approximation (stated in the
figure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_TOL = 1e-3


@dataclass(frozen=True)
class Summary:
    """n, min, mean, median (weighted ones when weights are given) and Kish's effective n."""

    n: int
    min: float
    mean: float
    median: float
    max: float
    n_eff: float

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "min": self.min, "mean": self.mean, "median": self.median, "max": self.max,
                "n_eff": self.n_eff}


@dataclass(frozen=True)
class EdfCurve:
    """Knots of the EDF staircase (possibly downsampled) plus the DKW band at each knot.

    `y[k]` is F just above `x[k]` (fraction of weight on errors <= x[k]); F is 0 up to and at `x[0]` = the
    exact minimum, and 1 after `x[-1]` = the maximum. `exact` is False when knots were dropped; the drawn
    staircase then differs from the exact one by at most `tol` everywhere.
    """

    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    eps: float
    alpha: float
    summary: Summary
    tol: float
    exact: bool

    def evaluate(self, at: np.ndarray) -> np.ndarray:
        """The drawn staircase at `at` (strict: the value at a knot is the level before it)."""
        k = np.searchsorted(self.x, np.asarray(at, dtype=np.float64), side="left")
        return np.where(k > 0, self.y[np.maximum(k - 1, 0)], 0.0)

    def step_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Points for a 'hv' step line that starts at (min, 0)."""
        return np.r_[self.x[0], self.x], np.r_[0.0, self.y]


def _clean(errors: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    e = np.asarray(errors, dtype=np.float64)
    if weights is None:
        e = e[np.isfinite(e)]
        if len(e) == 0:
            raise ValueError("edf: no finite errors")
        return e, None
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != e.shape:
        raise ValueError(f"edf: weights have shape {w.shape}, errors {e.shape}")
    keep = np.isfinite(e) & (w > 0)
    if not keep.any():
        raise ValueError("edf: no finite error with a positive weight")
    return e[keep], w[keep]


def kish_n_eff(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: n for equal weights, smaller when weights vary."""
    w = np.asarray(weights, dtype=np.float64)
    return float(w.sum() ** 2 / np.square(w).sum())


def edf_eval(errors: np.ndarray, at: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The exact F(e) = sum_i w_i 1[e_i < e] / sum_i w_i at every point of `at` (w = 1 without weights)."""
    xs, _, cw = _sorted(*_clean(errors, weights))
    k = np.searchsorted(xs, np.asarray(at, dtype=np.float64), side="left")
    return np.where(k > 0, cw[np.maximum(k - 1, 0)], 0.0)


def dkw_eps(n: float, alpha: float = 0.05) -> float:
    """Half-width of the (1 - alpha) DKW-Massart band for n samples."""
    return float(np.sqrt(np.log(2.0 / alpha) / (2.0 * n)))


def _thin(y: np.ndarray, tol: float) -> np.ndarray:
    """Indices of knots to keep so the drawn staircase stays within `tol` of the exact one.

    A knot is kept when its level enters a new `tol`-bucket; every dropped knot lies in the bucket of the
    last kept knot before it, so its level exceeds the drawn level by less than `tol`. First and last knots
    (exact minimum, level 1) are always kept.
    """
    bucket = np.floor(y / tol)
    keep = np.empty(len(y), dtype=bool)
    keep[0] = True
    keep[1:] = bucket[1:] != bucket[:-1]
    keep[-1] = True
    return np.flatnonzero(keep)


def _summary_sorted(xs: np.ndarray, w_sorted: np.ndarray | None, cw: np.ndarray) -> Summary:
    """Summary of already-sorted errors; `cw` is the normalised cumulative weight (i/n without weights)."""
    n = len(xs)
    if w_sorted is None:
        median = float((xs[n // 2 - 1] + xs[n // 2]) / 2) if n % 2 == 0 else float(xs[n // 2])
        return Summary(n, float(xs[0]), float(xs.mean()), median, float(xs[-1]), float(n))
    median = float(xs[min(int(np.searchsorted(cw, 0.5 - 1e-12)), n - 1)])
    mean = float(np.dot(xs, w_sorted) / w_sorted.sum())
    return Summary(n, float(xs[0]), mean, median, float(xs[-1]), kish_n_eff(w_sorted))


def _sorted(e: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    if w is None:
        xs = np.sort(e)
        return xs, None, np.arange(1, len(xs) + 1, dtype=np.float64) / len(xs)
    order = np.argsort(e)  # ties need no order: a knot takes the cumulative weight after its whole run
    ws = w[order]
    cw = np.cumsum(ws)
    return e[order], ws, cw / cw[-1]


def summarize(errors: np.ndarray, weights: np.ndarray | None = None) -> Summary:
    """n, min, mean, median, max over the finite errors (weighted versions when weights are given).

    The weighted median is the smallest error whose cumulative weight reaches 1/2.
    """
    return _summary_sorted(*_sorted(*_clean(errors, weights)))


def edf_curve(errors: np.ndarray, weights: np.ndarray | None = None, tol: float | None = DEFAULT_TOL,
              alpha: float = 0.05) -> EdfCurve:
    """The EDF of the finite errors, downsampled to vertical error <= `tol` (None: every distinct value)."""
    xs, ws, cw = _sorted(*_clean(errors, weights))
    last_of_run = np.r_[xs[1:] != xs[:-1], True]
    x, y = xs[last_of_run], cw[last_of_run].copy()
    y[-1] = 1.0
    exact = True
    if tol is not None and len(x) > 2:
        idx = _thin(y, tol)
        exact = len(idx) == len(x)
        x, y = x[idx], y[idx]
    summ = _summary_sorted(xs, ws, cw)
    eps = dkw_eps(summ.n_eff, alpha)
    return EdfCurve(x=x, y=y, lo=np.clip(y - eps, 0, 1), hi=np.clip(y + eps, 0, 1), eps=eps, alpha=alpha,
                    summary=summ, tol=0.0 if exact or tol is None else float(tol), exact=exact)

"""Which parameters matter for the error: Spearman rank correlation and permutation importance.

Two complementary measures:
- Spearman's rho (scipy.stats.spearmanr) over every model where the parameter is defined: a monotone trend,
  signed, with a p-value; blind to non-monotone effects (e.g. an optimal depth in the middle).
- Permutation importance (sklearn.inspection.permutation_importance) of a HistGradientBoostingRegressor fitted
  on at most `max_rows` models (seeded subsample; 75% train / 25% held out): the drop in held-out R^2 when one
  parameter is shuffled. It sees non-monotone effects and interactions; NaN-valued parameters are handled
  natively by the model. A seeded subsample of `max_rows` rows and one thread keep it near a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .minimum_n import IMPORTANCE
from .table import OUTCOME_COLUMNS, Population, column, numeric_columns

MIN_ROWS_FOR_MODEL = IMPORTANCE.min_n  # fewer finished models: no held-out R^2 (minimum_n.IMPORTANCE says why)


@dataclass(frozen=True)
class Importance:
    name: str
    spearman: float
    spearman_p: float
    n: int
    permutation: float  # mean drop in held-out R^2 (NaN when too few rows)
    permutation_std: float


def _spearman_columns(X: np.ndarray, y: np.ndarray) -> list[tuple[float, float, int]]:
    """Spearman rho, p and n of every column against y. Columns without NaN share one rank pass (Pearson on
    average ranks, p from the t distribution, as scipy does); the others go through scipy per column."""
    from scipy import stats  # imported here: scipy.stats adds ~2 s to the API's start-up

    out: list[tuple[float, float, int]] = [(float("nan"), float("nan"), 0)] * X.shape[1]
    full = np.flatnonzero(np.isfinite(X).all(axis=0))
    n = len(y)
    if len(full) and n >= 3:
        R = stats.rankdata(X[:, full], axis=0)
        ry = stats.rankdata(y)
        R -= R.mean(axis=0)
        ry -= ry.mean()
        with np.errstate(all="ignore"):
            r = (R.T @ ry) / (np.sqrt(np.square(R).sum(axis=0)) * np.sqrt(np.square(ry).sum()))
            t = r * np.sqrt((n - 2) / np.maximum(1e-300, (1 - r) * (1 + r)))
        p = 2 * stats.t.sf(np.abs(t), n - 2)
        for j, rj, pj in zip(full, r, p, strict=True):
            out[j] = (float(rj), float(pj), n) if np.isfinite(rj) else (float("nan"), float("nan"), n)
    for j in np.setdiff1d(np.arange(X.shape[1]), full):
        keep = np.isfinite(X[:, j])
        m = int(keep.sum())
        if m >= 3 and np.ptp(X[keep, j]) > 0:
            res = stats.spearmanr(X[keep, j], y[keep])
            out[j] = (float(res.statistic), float(res.pvalue), m)
        else:
            out[j] = (float("nan"), float("nan"), m)
    return out


def _permutation(X: np.ndarray, y: np.ndarray, seed: int, max_rows: int, n_repeats: int,
                 ) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    if len(y) > max_rows:
        pick = rng.choice(len(y), max_rows, replace=False)
        X, y = X[pick], y[pick]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed)
    # a column needs two distinct finite training values to be split on (e.g. w0 is NaN for AnyNet models)
    usable = np.array([len(np.unique(c[np.isfinite(c)])) >= 2 for c in X_tr.T], dtype=bool)
    mean = np.full(X.shape[1], np.nan)
    std = np.full(X.shape[1], np.nan)
    if not usable.any():
        return mean, std
    model = HistGradientBoostingRegressor(max_iter=80, learning_rate=0.1, random_state=seed)
    # one OpenMP thread: on a busy 2-core server, spinning thread pools make this 10-30x slower, not faster
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        warnings.simplefilter("ignore")
        model.fit(X_tr[:, usable], y_tr)
        res = permutation_importance(model, X_te[:, usable], y_te, n_repeats=n_repeats, random_state=seed,
                                     n_jobs=1)
    mean[usable], std[usable] = res.importances_mean, res.importances_std
    return mean, std


def parameter_importance(pop: Population, params: Sequence[str] | None = None, seed: int = 0,
                         max_rows: int = 3000, n_repeats: int = 3) -> list[Importance]:
    """Importance of each parameter for the error, most important first (by permutation, else |rho|).

    By default every numeric design or complexity column; measurements taken after training (inference time,
    final error, ...) are left out, since they would "explain" the error by its consequences.
    """
    names = list(params) if params is not None else [c for c in numeric_columns(pop) if c not in OUTCOME_COLUMNS]
    y_all = column(pop, "error")
    rows = np.isfinite(y_all)
    y = y_all[rows]
    X = np.column_stack([column(pop, k)[rows] for k in names]) if names else np.zeros((len(y), 0))
    rho = _spearman_columns(X, y)
    if len(y) >= MIN_ROWS_FOR_MODEL and names:
        perm_mean, perm_std = _permutation(X, y, seed, max_rows, n_repeats)
    else:
        perm_mean = perm_std = np.full(len(names), np.nan)
    out = [Importance(k, r[0], r[1], r[2], float(perm_mean[j]), float(perm_std[j]))
           for j, (k, r) in enumerate(zip(names, rho, strict=True))]
    return sorted(out, key=lambda i: (-np.nan_to_num(i.permutation, nan=-np.inf),
                                      -np.nan_to_num(abs(i.spearman), nan=-np.inf)))

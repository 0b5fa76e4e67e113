"""Complexity-normalised EDFs (NDS, Radosavovic et al. 2019).

Two design spaces with different complexity distributions are not comparable by their raw EDFs: a space
that samples bigger models looks better. NDS reweights each space so its complexity (flops or params) is
uniform over a common range: B equal bins over [c_lo, c_hi], and a model in bin k of a space with n_k models
there gets weight 1/(B n_k). c_lo is the largest of the spaces' minima and c_hi the smallest of their maxima,
so every space covers the whole range; models outside it get weight 0, and so do models exactly on its ends:
NDS keeps only models strictly inside (c_lo, c_hi) (docs/reference-facts.md), and so does this. A bin without
a model makes the weights undefined, so that is an error that names the bin, never a silent fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .edf import DEFAULT_TOL, EdfCurve, edf_curve, kish_n_eff


class EmptyBinError(ValueError):
    """A complexity bin holds no model of some space."""


@dataclass(frozen=True)
class Normalization:
    """Weights of one space (0 outside [c_lo, c_hi]) and the facts a legend needs."""

    weights: np.ndarray
    edges: np.ndarray
    counts: np.ndarray
    n_in_range: int
    n_eff: float

    @property
    def c_lo(self) -> float:
        return float(self.edges[0])

    @property
    def c_hi(self) -> float:
        return float(self.edges[-1])


def common_range(complexities: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """[largest minimum, smallest maximum] of the spaces' finite complexities."""
    lows, highs = [], []
    for label, c in complexities.items():
        c = np.asarray(c, dtype=np.float64)
        c = c[np.isfinite(c)]
        if len(c) == 0:
            raise ValueError(f"{label}: no finite complexity values")
        lows.append(c.min())
        highs.append(c.max())
    c_lo, c_hi = float(max(lows)), float(min(highs))
    if not c_lo < c_hi:
        raise ValueError(f"complexity ranges do not overlap: common range would be [{c_lo:.6g}, {c_hi:.6g}]")
    return c_lo, c_hi


def _bin_index(c: np.ndarray, edges: np.ndarray, log: bool) -> np.ndarray:
    """Bin of each value in [edges[0], edges[-1]] (the top edge belongs to the last bin)."""
    t = np.log(c) if log else c
    lo, hi = (np.log(edges[0]), np.log(edges[-1])) if log else (edges[0], edges[-1])
    b = len(edges) - 1
    bins: np.ndarray = np.minimum(((t - lo) / (hi - lo) * b).astype(np.int64), b - 1)
    return bins


def _bin_edges(c_lo: float, c_hi: float, bins: int, log: bool) -> np.ndarray:
    return np.geomspace(c_lo, c_hi, bins + 1) if log else np.linspace(c_lo, c_hi, bins + 1)


def _largest_workable_bins(c: np.ndarray, c_lo: float, c_hi: float, bins: int, log: bool) -> int:
    """The largest B' < bins for which no bin is empty (1 always works), for the error message."""
    for b in range(bins - 1, 0, -1):
        edges = _bin_edges(c_lo, c_hi, b, log)
        if np.bincount(_bin_index(c, edges, log), minlength=b).min() > 0:
            return b
    return 1


def complexity_weights(complexity: np.ndarray, c_lo: float, c_hi: float, bins: int = 10, log: bool = False,
                       label: str = "population") -> Normalization:
    """NDS weights 1/(B n_k) over B equal (or log-equal) bins of [c_lo, c_hi]; 0 outside the open range."""
    if bins < 1:
        raise ValueError(f"bins: must be >= 1, got {bins}")
    if log and c_lo <= 0:
        raise ValueError(f"log bins need a positive lower bound, got {c_lo:.6g}")
    c = np.asarray(complexity, dtype=np.float64)
    inside = np.isfinite(c) & (c > c_lo) & (c < c_hi)  # strictly inside, as NDS
    edges = _bin_edges(c_lo, c_hi, bins, log)
    k = _bin_index(c[inside], edges, log)
    counts = np.bincount(k, minlength=bins)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        i = int(empty[0])
        ok = _largest_workable_bins(c[inside], c_lo, c_hi, bins, log)
        raise EmptyBinError(
            f"{label}: complexity bin {i + 1} of {bins} [{edges[i]:.6g}, {edges[i + 1]:.6g}] holds no model "
            f"({len(empty)} empty bin(s)); use at most {ok} bins{'' if log else ' or log-spaced bins'} or more models")
    w = np.zeros(len(c))
    w[inside] = 1.0 / (bins * counts[k])
    return Normalization(weights=w, edges=edges, counts=counts, n_in_range=int(inside.sum()),
                         n_eff=kish_n_eff(w[inside]))


def normalized_edfs(errors: Mapping[str, np.ndarray], complexities: Mapping[str, np.ndarray], bins: int = 10,
                    log: bool = False, tol: float | None = DEFAULT_TOL, alpha: float = 0.05,
                    ) -> dict[str, tuple[EdfCurve, Normalization]]:
    """Complexity-normalised EDF of every space over their common range (models with a finite error only)."""
    if set(errors) != set(complexities):
        raise ValueError("normalized_edfs: errors and complexities must have the same labels")
    finite = {}
    for label, e in errors.items():
        e = np.asarray(e, dtype=np.float64)
        c = np.asarray(complexities[label], dtype=np.float64)
        keep = np.isfinite(e) & np.isfinite(c)
        finite[label] = (e[keep], c[keep])
    c_lo, c_hi = common_range({k: v[1] for k, v in finite.items()})
    out = {}
    for label, (e, c) in finite.items():
        norm = complexity_weights(c, c_lo, c_hi, bins, log, label)
        out[label] = (edf_curve(e, norm.weights, tol=tol, alpha=alpha), norm)
    return out

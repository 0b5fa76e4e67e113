"""The population format every analysis and figure reads: a dict of equal-length column arrays.

Why columns: the statistics are vectorised over whole populations (10^5..10^6 models), and a database
loader can fill numpy arrays straight from one query. One key per column:

- ``id`` (int), ``error`` (top-1 error in %, NaN where unknown), ``flops``, ``params``, ``acts`` (raw counts),
  ``infer_ms`` (inference time), the flat parameters of ``backend.designspace.params.PARAM_NAMES``
  (``d, w0, wa, wm, g, b, d_1.., w_1.., g_1.., b_1..``; NaN where a model has no such value) and optionally
  ``e_fit``.
- ``diverged``, ``did_not_learn`` (optional, bool): learning failures (backend.analysis.failures), which
  legends count and which no statistic takes as a column.
- ``config`` (optional): a sequence of canonical AnyNet config dicts (``depths, widths, bot_muls, group_ws``
  and, for RegNet models, ``regnet: {depth, w0, wa, wm, ...}``), one per model, for width curves.
- ``curves`` (optional): a sequence of per-model dicts of per-epoch lists (``test_error``, and optionally
  ``train_error``, ``train_loss``, ``epoch``) or None, for training curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

Population = Mapping[str, Any]
OBJECT_COLUMNS = ("config", "curves", "arch_type")
#: numeric columns that are complexities or measurements rather than design parameters
METRIC_COLUMNS = ("flops", "params", "acts", "infer_ms", "e_fit")
#: columns measured *after* training: consequences of the architecture, never explanations of its error
OUTCOME_COLUMNS = ("infer_ms", "train_seconds", "error_final", "diverged", "did_not_learn", "index")
#: boolean per-model flags (backend.analysis.failures): counted in legends, never drawn on an axis
FLAG_COLUMNS = ("diverged", "did_not_learn")


def size(pop: Population) -> int:
    """Number of models (rows); every column must have this length."""
    if "error" not in pop:
        raise ValueError("population: needs an 'error' column")
    n = len(pop["error"])
    for key, col in pop.items():
        if col is not None and len(col) != n:
            raise ValueError(f"population: column {key!r} has {len(col)} rows, 'error' has {n}")
    return n


def column(pop: Population, name: str) -> np.ndarray:
    """A numeric column as float64 (NaN for missing values); a clear error names the known columns."""
    if name not in pop or name in OBJECT_COLUMNS:
        known = sorted(k for k in pop if k not in OBJECT_COLUMNS)
        raise ValueError(f"column {name!r} not in the population; available: {known}")
    return np.asarray(pop[name], dtype=np.float64)


def errors(pop: Population) -> np.ndarray:
    """The finite errors only: unfinished models (NaN error) are not population members yet."""
    e = column(pop, "error")
    finite: np.ndarray = e[np.isfinite(e)]
    return finite


def finite_rows(*cols: np.ndarray) -> np.ndarray:
    """Mask of rows where every given column is finite."""
    keep = np.ones(len(cols[0]), dtype=bool)
    for c in cols:
        keep &= np.isfinite(c)
    return keep


def numeric_columns(pop: Population, min_finite: int = 2) -> list[str]:
    """Columns that can go on an axis: numeric, not 'id'/'error', with at least `min_finite` finite values
    and more than one distinct value."""
    out = []
    for key, col in pop.items():
        if key in OBJECT_COLUMNS or key in FLAG_COLUMNS or key in ("id", "error") or col is None:
            continue
        arr = np.asarray(col)
        if arr.dtype.kind not in "fiub":
            continue
        vals = arr[np.isfinite(arr.astype(np.float64))]
        if len(vals) >= min_finite and vals.min() != vals.max():
            out.append(key)
    return out


def take(pop: Population, idx: np.ndarray | Sequence[int]) -> dict[str, Any]:
    """The rows `idx` of every column (object columns as lists)."""
    idx = np.asarray(idx, dtype=np.int64)
    out: dict[str, Any] = {}
    for key, col in pop.items():
        if col is None:
            out[key] = None
        elif key in OBJECT_COLUMNS:
            out[key] = [col[i] for i in idx]
        else:
            out[key] = np.asarray(col)[idx]
    return out


def from_records(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Build a population from row dicts (tests, imports): numeric keys become float arrays, missing = NaN."""
    keys: list[str] = []
    for r in records:
        keys.extend(k for k in r if k not in keys)
    out: dict[str, Any] = {}
    for k in keys:
        if k in OBJECT_COLUMNS:
            out[k] = [r.get(k) for r in records]
        else:
            out[k] = np.array([np.nan if r.get(k) is None else r[k] for r in records], dtype=np.float64)
    if "id" in out:
        out["id"] = out["id"].astype(np.int64)
    return out

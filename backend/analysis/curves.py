"""Best and worst models, and their per-epoch training curves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

CURVE_KEYS = ("test_error", "train_error", "train_loss")


def best_worst(errors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the k lowest-error models (best first) and the k highest (worst first); finite errors only,
    ties in index order. A population smaller than 2k gives overlapping sets."""
    e = np.asarray(errors, dtype=np.float64)
    idx = np.flatnonzero(np.isfinite(e))
    order = idx[np.argsort(e[idx], kind="stable")]
    return order[:k], order[::-1][:k]


def curve_series(curve: Mapping[str, Any] | None, key: str = "test_error") -> tuple[np.ndarray, np.ndarray]:
    """(epochs, values) of one curve; epochs default to 1..len. Empty arrays when absent."""
    if not curve or not curve.get(key):
        return np.zeros(0), np.zeros(0)
    y = np.asarray(curve[key], dtype=np.float64)
    epochs = curve.get("epoch")
    x = np.arange(1, len(y) + 1, dtype=np.float64) if epochs is None else np.asarray(epochs, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError(f"curve: {len(x)} epochs but {len(y)} {key} values")
    return x, y

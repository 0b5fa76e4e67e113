"""Vectorised sampling laws (pycls's samplers, drawn for many candidates at once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from backend.fielderrors import InvalidField

if TYPE_CHECKING:
    from .spec import ParamSpec


def decimals(q: float) -> int:
    """Decimal places of a quantum q (0.001 -> 3): values on q's grid are rounded to these."""
    s = f"{q:.12f}".rstrip("0")
    return max(0, len(s.split(".")[1])) if "." in s else 0


def _quantize(x: np.ndarray, q: float) -> np.ndarray:
    """Clean float multiples of q (e.g. 36.4, not 36.400000000000006)."""
    return np.round(x * q, decimals(q)) if q != int(q) else x * q


def _log_uniform(rng: np.random.Generator, low: float, high: float, q: float, size: int) -> np.ndarray:
    q_star = min(q, low / 2)
    f = np.exp(rng.uniform(np.log(low - q_star), np.log(high), size))
    m = np.ceil(f / q - 1e-9)  # ceil to a multiple of q; the epsilon absorbs f/q = k + 1e-15
    m = np.clip(m, np.ceil(low / q - 1e-9), np.floor(high / q + 1e-9))
    return _quantize(m, q)


def draw(p: ParamSpec, rng: np.random.Generator, size: int) -> np.ndarray:
    """`size` independent draws of one parameter, as float64."""
    if p.law == "fixed":
        return np.full(size, p.number("value"))
    if p.law == "choice":
        vals = np.asarray(p.values, dtype=np.float64)
        return vals[rng.integers(0, len(vals), size)]
    low, high, q = p.number("low"), p.number("high"), p.number("q")
    if p.law == "uniform":
        n = int(round((high - low) / q)) + 1
        return _quantize(np.round(low / q) + rng.integers(0, n, size), q)
    if p.law == "log_uniform":
        return _log_uniform(rng, low, high, q, size)
    if p.law == "power2":
        e = rng.integers(int(np.log2(low)), int(np.log2(high)) + 1, size)
        drawn: np.ndarray = np.floor(2.0**e / q) * q
        return drawn
    if p.law == "power2_or_log_uniform":
        e = rng.integers(int(np.ceil(np.log2(low))), int(np.log2(high)) + 1, size)
        out = 2.0**e
        redraw = out >= q
        out[redraw] = _log_uniform(rng, max(low, q), high, min(high, q), int(redraw.sum()))
        return out
    raise InvalidField("law", f"unknown {p.law!r}")

"""Synthetic populations with known structure, for benchmarks, tests and demos without training.

Parameters are drawn like RegNetX's sampler (log-uniform w0/wa/wm, uniform d, g and b from the AnyNetX
choices), complexities follow the paper's laws (params linear in flops, acts ~ sqrt(flops), runtime a flops +
b sqrt(flops) + c) with noise, and the error has an optimum near d = 20 and wm = 2.5 plus noise, so trends,
best ranges and fits have a known answer.
"""

from __future__ import annotations

import numpy as np

#: coefficients the synthetic complexities are generated with (tests check the fits recover them)
PARAMS_PER_FLOP = 0.012
PARAMS_OFFSET = 1.5e6
ACTS_PER_SQRT_FLOP = 250.0
RUNTIME = {"a": 2.0e-8, "b": 1.5e-3, "c": 4.0}  # infer_ms = a flops + b sqrt(flops) + c


def synthetic_population(n: int, seed: int = 0, flops_range: tuple[float, float] = (2e8, 8e8),
                         error_offset: float = 30.0, noise: float = 1.0) -> dict[str, np.ndarray]:
    """n models as population columns (id, error, flops, params, acts, infer_ms, d, w0, wa, wm, g, b, d_i, w_i)."""
    rng = np.random.default_rng(seed)
    d = rng.integers(12, 29, n).astype(np.float64)
    w0 = np.ceil(np.exp(rng.uniform(np.log(8), np.log(256), n)) / 8) * 8
    wa = np.round(np.exp(rng.uniform(np.log(8), np.log(256), n)), 1)
    wm = np.round(np.exp(rng.uniform(np.log(1.5), np.log(3.0), n)), 3)
    g = rng.choice([1.0, 2.0, 4.0, 8.0, 16.0, 32.0], n)
    b = rng.choice([1.0, 2.0, 4.0], n)
    lo, hi = np.log(flops_range)
    flops = np.exp(rng.uniform(float(lo), float(hi), n))
    params = PARAMS_PER_FLOP * flops + PARAMS_OFFSET + rng.normal(0, 2e5, n)
    acts = ACTS_PER_SQRT_FLOP * np.sqrt(flops) * np.exp(rng.normal(0, 0.05, n))
    infer = RUNTIME["a"] * flops + RUNTIME["b"] * np.sqrt(flops) + RUNTIME["c"] + rng.normal(0, 0.2, n)
    error = (error_offset + 8 * np.abs(np.log(d / 20)) + 6 * np.abs(np.log(wm / 2.5)) + 0.8 * np.log2(b)
             - 2 * np.log(flops / flops_range[0]) + noise * rng.standard_normal(n))
    out = {"id": np.arange(1, n + 1, dtype=np.int64), "error": error, "flops": flops, "params": params,
           "acts": acts, "infer_ms": infer, "d": d, "w0": w0, "wa": wa, "wm": wm, "g": g, "b": b}
    frac = np.sort(rng.dirichlet(np.ones(4), n), axis=1)
    for i in range(4):
        out[f"d_{i + 1}"] = np.maximum(1, np.round(d * frac[:, i]))
        out[f"w_{i + 1}"] = np.round(w0 * wm ** i / 8) * 8
    return out

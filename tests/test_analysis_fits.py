"""Complexity fits recover known coefficients; Pearson r against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from backend.analysis import synthetic
from backend.analysis.fits import fit_basis, linear_fit, pearson, runtime_fit, sqrt_fit


def test_exact_recovery_without_noise():
    flops = np.geomspace(2e8, 2e10, 50)
    f = sqrt_fit(flops, 250.0 * np.sqrt(flops) + 1e5)
    assert f.coef == pytest.approx({"a": 250.0, "c": 1e5}, rel=1e-9) and f.r2 == pytest.approx(1.0)
    f = linear_fit(flops, 0.012 * flops + 1.5e6)
    assert f.coef == pytest.approx({"a": 0.012, "c": 1.5e6}, rel=1e-9)
    t = 2e-8 * flops + 1.5e-3 * np.sqrt(flops) + 4.0
    f = runtime_fit(flops, t)
    assert f.coef == pytest.approx({"a": 2e-8, "b": 1.5e-3, "c": 4.0}, rel=1e-7)
    np.testing.assert_allclose(f.predict(flops), t, rtol=1e-9)


def test_recovery_from_noisy_synthetic_population():
    pop = synthetic.synthetic_population(20_000, seed=1, flops_range=(2e8, 2e10))
    f = linear_fit(pop["flops"], pop["params"])
    assert f.coef["a"] == pytest.approx(synthetic.PARAMS_PER_FLOP, rel=1e-3)
    assert f.coef["c"] == pytest.approx(synthetic.PARAMS_OFFSET, rel=0.05)
    f = runtime_fit(pop["flops"], pop["infer_ms"])
    assert f.coef["a"] == pytest.approx(synthetic.RUNTIME["a"], rel=0.02)
    assert f.coef["b"] == pytest.approx(synthetic.RUNTIME["b"], rel=0.05)
    assert f.coef["c"] == pytest.approx(synthetic.RUNTIME["c"], abs=0.3)
    # acts = 250 sqrt(flops) * lognormal(0, 0.05): slope within the noise's mean factor
    f = fit_basis(pop["flops"], pop["acts"], {"a": np.sqrt})
    assert f.coef["a"] == pytest.approx(synthetic.ACTS_PER_SQRT_FLOP, rel=0.01) and f.r2 > 0.95


def test_pearson_and_bad_input():
    rng = np.random.default_rng(2)
    x = rng.random(500)
    y = 2 * x + rng.normal(0, 0.3, 500)
    y[3] = np.nan
    r, p, n = pearson(x, y)
    keep = np.isfinite(y)
    assert r == pytest.approx(np.corrcoef(x[keep], y[keep])[0, 1]) and n == 499 and p < 1e-20
    assert np.isnan(pearson(np.ones(10), np.arange(10.0))[0])
    with pytest.raises(ValueError, match="at least 3 points"):
        runtime_fit(np.array([1.0, 2.0]), np.array([1.0, 2.0]))

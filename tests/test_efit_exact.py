"""e_fit is the true minimum of its own objective over the declared domain (backend/analysis/efit_exact.py).

Checked against brute force: no point of a dense grid over the domain scores below the fit, the branch-and-bound
bound is below the objective everywhere in its box, and the width adjustment the bound relies on is monotone.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend.analysis.efit_exact import WM_HI, WM_LO, _bounds, domain
from backend.analysis.widths import _scores, expand_config, fit_width_law
from backend.designspace.builtin import get_space
from backend.designspace.regnet import adjust_widths_groups
from backend.designspace.sampling import sample


def test_issue_example_reaches_its_own_objectives_lower_value() -> None:
    lay = expand_config({"depths": [3, 1, 2, 15], "widths": [16, 288, 208, 512]})
    at_issue_point = _scores(lay, np.array([[24, 40.402, 2.7698]]), False)[0]
    assert at_issue_point == pytest.approx(0.2331, abs=1e-4)
    fit = fit_width_law(lay, snap=False)
    assert fit.e_fit <= at_issue_point and fit.unresolved == 0
    # the fit's point really scores its e_fit
    assert _scores(lay, np.array([[fit.w0, fit.wa, fit.wm]]), False)[0] == fit.e_fit


def test_the_width_adjustment_is_monotone_in_the_width() -> None:
    w = np.arange(8, 8 * 1025, 8)
    for bm in (1.0, 0.5, 0.25):
        for g in range(1, 65):
            adj, _ = adjust_widths_groups(w, np.full(len(w), bm), np.full(len(w), g))
            assert np.all(np.diff(adj) >= 0), (bm, g)


def _small_models(n: int, seed: int) -> list[dict]:
    res = sample(get_space("AnyNetX_A"), 400, seed=seed)
    out = []
    for i in range(len(res)):
        c = res.config(i).model_dump()
        if sum(c["depths"]) <= 10 and max(c["widths"]) <= 160:
            out.append(c)
        if len(out) == n:
            break
    return out


def _dense_min(lay, snap: bool) -> float:
    w0s, wa_max = domain(lay.widths)
    wm = np.geomspace(WM_LO, WM_HI, 300)
    wa = np.r_[0.0, np.geomspace(0.05, wa_max, 300)]
    grid = np.stack([a.ravel() for a in np.meshgrid(w0s, wa, wm, indexing="ij")], axis=1)
    return float(_scores(lay, grid, snap).min())


@pytest.mark.slow
@pytest.mark.parametrize("snap", [True, False])
def test_no_point_of_a_dense_grid_beats_the_fit(snap: bool) -> None:
    for cfg in _small_models(4, seed=11):
        lay = expand_config(cfg)
        fit = fit_width_law(lay, snap=snap)
        assert fit.unresolved == 0
        assert fit.e_fit <= _dense_min(lay, snap) + 1e-12, cfg


def test_the_bound_is_below_the_objective_everywhere_in_its_box() -> None:
    rng = np.random.default_rng(4)
    for cfg in _small_models(4, seed=12):
        lay = expand_config(cfg)
        w0s, wa_max = domain(lay.widths)
        for _ in range(30):
            w0 = float(rng.choice(w0s))
            m1 = float(np.exp(rng.uniform(np.log(WM_LO), np.log(WM_HI))))
            m2 = min(WM_HI, m1 * float(np.exp(rng.uniform(0, 0.3))))
            levels = int(np.ceil(np.log1p((lay.depth - 1) * wa_max / w0) / np.log(m1) + 0.5)) + 1
            lb, _, _ = _bounds(lay.kinds(True), np.array([w0]), np.array([m1]),
                               np.array([m2]), levels, wa_max)
            pts = np.stack([np.full(400, w0), rng.uniform(0, wa_max, 400),
                            np.exp(rng.uniform(np.log(m1), np.log(m2), 400))], axis=1)
            assert _scores(lay, pts, True).min() >= lb[0] - 1e-12


def test_the_exact_search_improves_on_the_grids_where_they_missed() -> None:
    import backend.analysis.widths as widths
    from backend.analysis.efit_exact import ExactMin

    cfgs = [sample(get_space("AnyNetX_A"), 12, seed=1).config(i).model_dump() for i in range(12)]
    exact = [fit_width_law(expand_config(c)).e_fit for c in cfgs]
    real = widths.exact_minimum
    try:
        widths.exact_minimum = lambda *a, **k: ExactMin(float("inf"), None, 0, 0, [])  # grids only
        grids = [fit_width_law(expand_config(c)).e_fit for c in cfgs]
    finally:
        widths.exact_minimum = real
    assert all(e <= g for e, g in zip(exact, grids, strict=True))
    assert sum(e < g - 1e-9 for e, g in zip(exact, grids, strict=True)) >= 3

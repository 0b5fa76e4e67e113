"""Width curves and the quantized-linear-law fit: e_fit = 0 for RegNets, > 0 for non-monotone AnyNets."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from backend.analysis.widths import (
    BlockLayout,
    e_fit_column,
    expand_config,
    fit_width_law,
    law_widths,
    population_e_fit,
    regnet_continuous,
)
from backend.designspace.builtin import get_space
from backend.designspace.config import RegNetSpec
from backend.designspace.regnet import generate_regnet, regnet_to_anynet
from backend.designspace.sampling import Regime, sample


def law_layout(d: int, w0: int, wa: float, wm: float) -> BlockLayout:
    gen = generate_regnet(d, w0, wa, wm)
    return BlockLayout(np.array(gen.block_widths), None, None, np.r_[0, np.cumsum(gen.depths)[:-1]],
                       np.array(gen.widths))


def configs(space: str, n: int, seed: int, flops=(360e6, 400e6)) -> list[dict]:
    return [r["config"] for r in sample(get_space(space), n, seed, Regime(flops=flops)).records()]


def test_law_widths_match_the_generator():
    rng = np.random.default_rng(0)
    for _ in range(50):
        d, w0 = int(rng.integers(1, 65)), int(rng.integers(1, 33)) * 8
        wa, wm = round(float(rng.uniform(8, 256)), 1), round(float(rng.uniform(1.5, 3)), 3)
        got = law_widths(d, np.array([w0]), np.array([wa]), np.array([wm]))[0]
        assert got.tolist() == generate_regnet(d, w0, wa, wm).block_widths


def test_plain_law_models_fit_exactly():
    """Every (d, w0, wa, wm) of the RegNet law, including models with skipped stage indices and > 4 stages."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        d, w0 = int(rng.integers(1, 65)), int(rng.integers(1, 33)) * 8
        wa = round(float(np.exp(rng.uniform(np.log(8), np.log(256)))), 1)
        wm = round(float(np.exp(rng.uniform(np.log(1.5), np.log(3)))), 3)
        lay = law_layout(d, w0, wa, wm)
        fit = fit_width_law(lay, snap=False)
        assert fit.e_fit == 0.0, (d, w0, wa, wm, fit)
        assert fit.predicted.tolist() == lay.widths.tolist()


@pytest.mark.parametrize("space,flops", [("RegNetX", (360e6, 400e6)), ("RegNetY", (3.6e9, 4.0e9))])
def test_sampled_regnets_fit_exactly_after_group_snapping(space, flops):
    cfgs = configs(space, 60, 3, flops)
    e = e_fit_column(cfgs)
    assert np.all(e == 0.0)
    # the paper's plain law (no group-width snapping) is close but not always exact for these configs
    plain = np.array([fit_width_law(expand_config(c), snap=False).e_fit for c in cfgs[:20]])
    assert np.all(plain < 0.25) and (plain > 0).any() and (plain == 0).any()


def test_zoo_models_fit_exactly(reference_dir):
    with open(reference_dir / "regnet_zoo.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        spec = RegNetSpec(depth=int(row["depth"]), w0=int(row["w0"]), wa=float(row["wa"]), wm=float(row["wm"]),
                          group_w=int(row["group_w"]), bot_mul=float(row["bot_mul"]))
        fit = fit_width_law(expand_config(regnet_to_anynet(spec)))
        assert fit.e_fit == 0.0, row["name"]


def test_non_monotone_anynet_models_have_positive_e_fit():
    cfgs = [c for c in configs("AnyNetX_A", 80, 4) if np.any(np.diff(c["widths"]) < 0)]
    assert len(cfgs) >= 40
    for snap in (True, False):
        e = np.array([fit_width_law(expand_config(c), snap=snap).e_fit for c in cfgs])
        assert np.all(e > 0.005), snap
    assert np.median(e) > 0.1


def test_expand_config_and_continuous_widths():
    cfg = regnet_to_anynet(RegNetSpec(depth=13, w0=24, wa=36.44, wm=2.49, group_w=8))
    lay = expand_config(cfg)
    assert lay.depth == 13 and lay.stage_starts.tolist() == [0, 1, 2, 6]  # RegNetX-200MF: d_i = 1, 1, 4, 7
    assert lay.widths.tolist() == [24] * 1 + [56] * 1 + [152] * 4 + [368] * 7
    assert lay.group_ws.tolist() == [8] * 13 and lay.bot_muls.tolist() == [1.0] * 13
    np.testing.assert_allclose(regnet_continuous(cfg), 24 + 36.44 * np.arange(13))
    anynet = cfg.model_dump()
    anynet.pop("regnet")
    assert regnet_continuous(anynet) is None
    basic = dict(anynet, block_type="res_basic_block")
    assert expand_config(basic).bot_muls is None  # no group-width adjustment for basic blocks
    with pytest.raises(ValueError, match="equal length"):
        expand_config({"depths": [1, 2], "widths": [8]})


def test_population_e_fit_prefers_stored_column():
    cfg = regnet_to_anynet(RegNetSpec(depth=13, w0=24, wa=36.44, wm=2.49, group_w=8)).model_dump()
    pop = {"error": np.array([1.0, 2.0]), "config": [cfg, None]}
    e = population_e_fit(pop)
    assert e[0] == 0.0 and np.isnan(e[1])
    assert population_e_fit({**pop, "e_fit": np.array([0.5, 0.25])}).tolist() == [0.5, 0.25]

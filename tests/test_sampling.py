"""Seeded rejection sampling: reproducible, exact w.r.t. the generator, regime-respecting, fails clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.complexity import complexity
from backend.designspace.config import AnyNetConfig, RegNetParams
from backend.designspace.families import get_family
from backend.designspace.families.regnet import regnet_stage_boundaries
from backend.designspace.laws import draw
from backend.designspace.regnet import generate_regnet, quantize_stage_width, regnet_to_anynet
from backend.designspace.sampling import Regime, SamplingError, sample
from backend.designspace.spec import ParamSpec, parse_space

MF360 = Regime(flops=(360e6, 400e6))


def test_same_seed_same_models_and_prefix_property():
    a = sample(get_space("RegNetX"), 300, seed=7, regime=MF360)
    b = sample(get_space("RegNetX"), 300, seed=7, regime=MF360)
    c = sample(get_space("RegNetX"), 100, seed=7, regime=MF360)
    assert [r["config"] for r in a.records()] == [r["config"] for r in b.records()]
    assert [r["config"] for r in c.records()] == [r["config"] for r in a.records()[:100]]
    d = sample(get_space("RegNetX"), 100, seed=8, regime=MF360)
    assert [r["config"] for r in d.records()] != [r["config"] for r in c.records()]


#: spaces sampled as AnyNet batches (cell spaces: tests/test_nds_cells.py, tests/test_family_nds_cell.py)
ANYNET_SPACES = [k for k, sp in builtin_spaces().items() if get_family(sp.family).arch_type == "anynet"]


@pytest.mark.parametrize("name", ANYNET_SPACES)
def test_every_space_samples_valid_distinct_models_inside_the_regime(name):
    space = get_space(name)
    res = sample(space, 40, seed=1, regime=MF360)
    assert len(res) == 40
    hashes = set()
    for i in range(len(res)):
        cfg = res.config(i)
        cx = complexity(cfg, space.im_size, space.num_classes)
        assert 360e6 <= cx["flops"] <= 400e6
        assert cx["flops"] == res.batch.counts.flops[i] and cx["params"] == res.batch.counts.params[i]
        assert len(cfg.depths) == space.num_stages
        hashes.add(cfg.config_hash())
        if space.family == "regnet":
            # identical to the block-by-block generator and the zoo's model-construction path
            again = regnet_to_anynet(cfg.regnet, se_r=space.se_r)
            assert (again.depths, again.widths, again.group_ws) == (cfg.depths, cfg.widths, cfg.group_ws)
        if space.params.get("w") is not None and space.params["w"].monotone:
            assert cfg.widths == sorted(cfg.widths)
        if space.params.get("d") is not None and space.family == "anynet" and space.params["d"].monotone:
            assert cfg.depths == sorted(cfg.depths)
        if space.family == "anynet" and space.params["b"].shared:
            assert len(set(cfg.bot_muls)) == 1
        if space.family == "anynet" and space.params["g"].shared:
            assert len({res.batch.sampled[f"g_{k}"][i] for k in range(1, 5)}) == 1
    assert len(hashes) == 40
    assert res.candidates >= 40 and 0 < res.acceptance_rate <= 1


def test_fast_stage_rule_agrees_with_generator_on_random_candidates():
    rng = np.random.default_rng(0)
    space = get_space("RegNetX")
    n = 6000
    d = draw(space.params["d"], rng, n).astype(np.int64)
    w0, wa, wm = (draw(space.params[k], rng, n) for k in ("w0", "wa", "wm"))
    gens = [generate_regnet(int(d[i]), w0[i], wa[i], wm[i]) for i in range(n)]
    for stages in (3, 4, 5):
        jk, valid = regnet_stage_boundaries(d, w0, wa, wm, stages)
        q = quantize_stage_width(w0[:, None], wm[:, None], np.arange(stages, dtype=float)[None, :])
        fast_ok = valid & np.all(np.diff(q, axis=1) > 0, axis=1)
        for i, gen in enumerate(gens):
            exact_ok = gen.num_stages == gen.total_stages == stages
            assert bool(fast_ok[i]) == exact_ok, (d[i], w0[i], wa[i], wm[i])
            if exact_ok:
                firsts = [0, *jk[i, : stages - 1].tolist(), int(d[i])]
                assert np.diff(firsts).tolist() == gen.depths


def test_accepted_models_follow_the_conditional_law():
    """Rejection keeps the space's law restricted to the regime: compare with a one-at-a-time sampler."""
    space = get_space("RegNetX_constrained")
    regime = Regime(flops=(200e6, 800e6))
    res = sample(space, 1500, seed=2, regime=regime)
    rng = np.random.default_rng(99)
    kept = []
    while len(kept) < 1500:
        d, w0, wa, wm, g = (draw(space.params[k], rng, 1)[0] for k in ("d", "w0", "wa", "wm", "g"))
        gen = generate_regnet(int(d), w0, wa, wm)
        if gen.num_stages != 4 or gen.total_stages != 4:
            continue
        p = RegNetParams(depth=int(d), w0=int(w0), wa=wa, wm=wm, group_w=int(g))
        if regime.flops[0] <= complexity(regnet_to_anynet(p))["flops"] <= regime.flops[1]:
            kept.append((p.depth, p.wm))
    from scipy.stats import ks_2samp

    kept = np.array(kept)
    assert ks_2samp(res.batch.sampled["d"], kept[:, 0]).pvalue > 1e-3
    assert ks_2samp(res.batch.sampled["wm"], kept[:, 1]).pvalue > 1e-3


def test_law_probabilities_follow_pycls():
    rng = np.random.default_rng(0)
    x = draw(ParamSpec(law="log_uniform", low=8, high=256, q=8), rng, 400_000)
    assert np.mean(x == 8) == pytest.approx(0.165, abs=0.005)
    assert np.mean(x == 16) == pytest.approx(0.165, abs=0.005)
    assert np.mean(x == 24) == pytest.approx(0.098, abs=0.005)
    g = draw(ParamSpec(law="power2_or_log_uniform", low=1, high=32, q=8), rng, 400_000)
    for v in (1, 2, 4, 8, 16):
        assert np.mean(g == v) == pytest.approx(1 / 6, abs=0.005)
    assert np.mean(g == 24) == pytest.approx(0.0975, abs=0.005)
    wa = draw(ParamSpec(law="log_uniform", low=8.0, high=256.0, q=0.1), rng, 1000)
    assert all(round(v, 1) == v for v in wa) and wa.min() >= 8.0 and wa.max() <= 256.0
    u = draw(ParamSpec(law="uniform", low=12, high=28, q=1), rng, 100_000)
    assert set(u.tolist()) == set(range(12, 29))


def test_empty_regime_fails_fast_with_a_message():
    with pytest.raises(SamplingError, match="no model of RegNetX falls in flops"):
        sample(get_space("RegNetX"), 5, seed=0, regime=Regime(flops=(1, 2)))


def test_unreachable_n_fails_with_projection():
    with pytest.raises(SamplingError, match="out of reach"):
        sample(get_space("AnyNetX_E"), 10_000, seed=0, regime=MF360, max_candidates=2_000_000)


def test_inverted_regime_is_refused():
    with pytest.raises(ValueError, match="regime.flops: low must be <= high"):
        Regime(flops=(400e6, 360e6))


def test_custom_space_in_yaml_samples():
    spec = parse_space("""
name: tiny_regnet
family: regnet
num_stages: 3
im_size: 32
num_classes: 10
stem_type: res_stem_cifar
stem_w: 16
params:
  d: {law: uniform, low: 4, high: 12}
  w0: {law: log_uniform, low: 16, high: 64, q: 8}
  wa: {law: log_uniform, low: 8.0, high: 64.0, q: 0.1}
  wm: {law: log_uniform, low: 1.5, high: 3.0, q: 0.01}
  g: {law: choice, values: [8, 16]}
  b: {law: fixed, value: 1}
""")
    res = sample(spec, 25, seed=0, regime=Regime(flops=(1e6, 50e6)))
    assert len(res) == 25 and all(len(res.config(i).depths) == 3 for i in range(25))


def test_regnet_depth_stays_below_64_as_in_the_paper():
    """The paper samples d < 64 (§3.3); the spaces used to allow d = 64."""
    for name in ("RegNetX", "RegNetY"):
        d = get_space(name).params["d"]
        assert d.bounds() == (1, 63), name
        res = sample(get_space(name), 2000, seed=3, regime=Regime(), im_size=32, num_classes=10)
        assert max(res.batch.sampled["d"]) == 63  # the top of the range is reached, and never 64


@pytest.mark.parametrize("name", sorted(ANYNET_SPACES))
def test_records_build_the_same_configs_as_the_validated_models(name):
    """records() builds config dicts from the batch arrays without pydantic (the speed of `netspace sample`);
    each must be exactly what the validated config model dumps, with the same hash."""
    res = sample(get_space(name), 300, seed=5, regime=Regime(), im_size=32, num_classes=10)
    for i, rec in enumerate(res.records()):
        model = res.config(i)
        # the same text (so 1 and 1.0 differ), keys in the same order
        assert json.dumps(rec["config"]) == json.dumps(model.model_dump(mode="json", exclude_none=True))
        assert AnyNetConfig.model_validate(rec["config"]).config_hash() == model.config_hash()

"""Refining stored studies and their lineage, on real SQLite and PostgreSQL (services layer).

Populations are sampled for real and their jobs finished through the queue exactly as a worker finishes them,
with errors computed from each model's config (worse when widths decrease across stages or b = 4), so the
constraints of the paper's chain really change the error distribution without minutes of training.
"""

from __future__ import annotations

import numpy as np
import pytest
from refine_helpers import REGIME, make_study, train_synthetic
from scipy import stats
from sqlalchemy import func, select

from backend.analysis.bootstrap import best_ranges
from backend.analysis.minimum_n import KS
from backend.analysis.widths import expand_config, fit_width_law
from backend.designspace.builtin import get_space
from backend.designspace.size import space_size
from backend.services.errors import Conflict, InvalidInput, NotFound
from backend.services.lineage import lineage, step_between
from backend.services.population import load_population
from backend.services.refine import IN_SAMPLE, RefineIn, refine_study
from backend.services.studies import StudyIn, create_study
from db.models import jobs, models, studies


def table_counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (studies, models, jobs))


@pytest.fixture
def parent_a(db_engine):
    sid, errs = make_study(db_engine, "A", "AnyNetX_A", 80)
    return db_engine, sid, errs


def test_preview_counts_the_parent_models_inside_the_child_and_writes_nothing(parent_a):
    engine, sid, errs = parent_a
    before = table_counts(engine)
    pop = load_population(engine, sid, configs=True)
    for step, member in (
            ({"share": ["b"]}, lambda c: len(set(c["bot_muls"])) == 1),
            ({"share": ["b", "g"], "monotone": ["w"]}, lambda c: len(set(c["bot_muls"])) == 1
             and len(set(c["group_ws"])) == 1 and c["widths"] == sorted(c["widths"]))):
        out = refine_study(engine, sid, RefineIn(step={"name": "child", **step}))
        assert out["study"] is None and table_counts(engine) == before
        s = out["preview"]["in_sample"]
        ids = sorted(int(i) for i, c in zip(pop["id"], pop.configs, strict=True) if member(c))
        assert s["label"] == IN_SAMPLE and s["method"] == "satisfies"
        assert (s["finished"], s["inside_finished"], sorted(s["ids"])) == (80, len(ids), ids), step
    p = refine_study(engine, sid, RefineIn(step={"name": "B", "share": ["b"]}))["preview"]
    s = p["in_sample"]
    ids = s["ids"]
    assert 0 < len(ids) < 80
    child_err = [errs[i] for i in ids]
    assert s["child_stats"]["min"] == pytest.approx(min(child_err))
    assert s["child_stats"]["mean"] == pytest.approx(np.mean(child_err))
    assert s["fraction"] == pytest.approx(len(ids) / 80)
    ks = stats.ks_2samp(list(errs.values()), child_err)
    assert s["ks"] == pytest.approx(ks.statistic)
    if len(ids) >= KS.min_n:  # the p-value only from minimum_n.KS per side, else null with the reason
        assert s["p_value"] == pytest.approx(ks.pvalue) and s["ks_absent"] is None
    else:
        assert s["p_value"] is None and s["ks_absent"] == f"KS p-value omitted: n=80 vs {len(ids)} < 20 per side " \
                                                          "needed for a two-sample KS verdict"
    names = [t.get("name", "") for t in p["figure"]["data"]]
    assert any(n.startswith(f"B ({IN_SAMPLE}) n={len(ids)} |") for n in names)
    assert any(n.startswith("A (parent) n=80 |") for n in names)
    assert IN_SAMPLE in p["figure"]["layout"]["title"]["text"]
    size = space_size(get_space("AnyNetX_B"))
    assert p["child"]["size"]["dimension"] == 13 and p["child"]["size"]["exact"] == str(size.exact)
    assert p["parent"]["size"]["dimension"] == 16
    assert p["child"]["constraint"] == "shared b (b_i = b)" and p["child"]["name_available"] is True


def test_create_links_the_child_inherits_settings_and_queues_n(parent_a):
    engine, sid, _ = parent_a
    out = refine_study(engine, sid, RefineIn(step={"name": "B", "share": ["b"]}, preview=False, n=12, seed=3))
    child = out["study"]
    assert child["parent_id"] == sid and child["counts"]["jobs"]["queued"] == 12
    with engine.connect() as conn:
        parent = conn.execute(select(studies).where(studies.c.id == sid)).mappings().one()
    for k in ("dataset", "recipe", "regime", "im_size", "num_classes"):
        assert child[k] == parent[k], k
    assert child["seed"] == 3 and "refined from A" in child["notes"]
    spec = child["space"]
    assert {k: v["shared"] for k, v in spec["params"].items()} == {
        k: v.shared for k, v in get_space("AnyNetX_B").params.items()}
    # every queued model lies in the child
    pop = load_population(engine, child["id"], configs=True)
    assert all(len(set(c["bot_muls"])) == 1 for c in pop.configs)
    # overrides, and the same name again is a conflict that writes nothing
    again = refine_study(engine, sid, RefineIn(step={"name": "B2", "share": ["b"]}, preview=False, n=2,
                                               recipe={"epochs": 3}, regime={"flops": [None, "3M"]}))["study"]
    assert again["recipe"]["epochs"] == 3 and again["regime"] == {"flops": [None, 3e6]}
    assert max(load_population(engine, again["id"])["flops"]) <= 3e6
    before = table_counts(engine)
    with pytest.raises(Conflict, match="'B' exists already"):
        refine_study(engine, sid, RefineIn(step={"name": "B", "share": ["g"]}, preview=False, n=5))
    with pytest.raises(InvalidInput) as e:  # more than the server's per-request cap
        refine_study(engine, sid, RefineIn(step={"name": "Z", "share": ["g"]}, preview=False, n=5), max_n=4)
    assert e.value.field == "n"
    with pytest.raises(InvalidInput) as e:
        refine_study(engine, sid, RefineIn(step={"name": "Z"}, preview=False, regime={"flops": ["5M", "1M"]}))
    assert e.value.field.startswith("regime")
    with pytest.raises(InvalidInput) as e:
        refine_study(engine, sid, RefineIn(step={"name": "Z"}, preview=False, recipe={"epochs": 0}))
    assert e.value.field == "recipe.epochs"
    assert table_counts(engine) == before
    with pytest.raises(NotFound):
        refine_study(engine, 10_000, RefineIn(step={"name": "Z"}))


def test_bestrange_narrows_to_the_bootstrap_range_of_the_whole_population(db_engine):
    sid, errs = make_study(db_engine, "X", "RegNetX", 60, seed=1)
    req = RefineIn(step={"name": "X2", "fix": {"b": 1}}, bestrange=["wm", "d"], repeats=2000, bootstrap_seed=7)
    p = refine_study(db_engine, sid, req)["preview"]
    pop = load_population(db_engine, sid)
    direct = best_ranges(pop["error"], {"wm": pop["wm"], "d": pop["d"]}, repeats=2000, seed=7)
    child = p["child"]["space"]["params"]
    for k in ("wm", "d"):
        info = p["narrowed"][k]
        assert info["bestrange"]["low"] == direct[k].lo and info["bestrange"]["high"] == direct[k].hi
        assert info["sources"] == ["bestrange"] and info["low"] <= direct[k].lo <= direct[k].hi <= info["high"]
        c = child[k]
        lo, hi = (c["value"], c["value"]) if c["law"] == "fixed" else (c["low"], c["high"])
        assert info["low"] - 1e-9 <= lo <= hi <= info["high"] + 1e-9
    assert child["b"] == {"law": "fixed", "value": 1.0, "shared": False, "monotone": False, "low": None,
                          "high": None, "q": None, "values": None}
    # in-sample: exactly the parent models with b = 1 and wm, d inside the narrowed ranges
    wm_lo, wm_hi = p["narrowed"]["wm"]["low"], p["narrowed"]["wm"]["high"]
    d_lo, d_hi = p["narrowed"]["d"]["low"], p["narrowed"]["d"]["high"]
    keep = (pop["b"] == 1) & (pop["wm"] >= wm_lo - 1e-9) & (pop["wm"] <= wm_hi + 1e-9) & (pop["d"] >= d_lo) & (
        pop["d"] <= d_hi)
    assert sorted(p["in_sample"]["ids"]) == sorted(int(i) for i in pop["id"][keep])
    # by hand on top of the bootstrap: ranges intersect; disjoint ranges are refused naming the parameter
    both = refine_study(db_engine, sid, RefineIn(step={"name": "X3", "narrow": {"wm": [wm_lo, wm_lo]}},
                                                 bestrange=["wm"], repeats=2000, bootstrap_seed=7))["preview"]
    assert both["narrowed"]["wm"]["sources"] == ["hand", "bestrange"]
    assert both["child"]["space"]["params"]["wm"]["law"] == "fixed"
    assert wm_lo > 1.5 or wm_hi < 3.0
    outside = [1.5, 1.5] if wm_lo > 1.5 else [3.0, 3.0]
    with pytest.raises(InvalidInput, match="do not overlap") as e:
        refine_study(db_engine, sid, RefineIn(step={"name": "X3", "narrow": {"wm": outside}}, bestrange=["wm"],
                                              repeats=2000, bootstrap_seed=7))
    assert e.value.field == "step.narrow.wm"
    with pytest.raises(InvalidInput, match="unknown parameter 'w'") as e:
        refine_study(db_engine, sid, RefineIn(step={"name": "X4"}, bestrange=["w"]))
    assert e.value.field == "bestrange"


def test_filter_ranges_narrow_the_space_and_other_keys_are_reported(db_engine):
    sid, _ = make_study(db_engine, "R", "RegNetX", 40, seed=2)
    flt = {"wm_min": 2.0, "wm_max": 2.5, "flops_max": 4e6, "status": ["done"]}
    p = refine_study(db_engine, sid, RefineIn(step={"name": "R2"}, filter=flt))["preview"]
    wm = p["child"]["space"]["params"]["wm"]
    assert (wm["low"], wm["high"]) == (2.0, 2.5) and p["narrowed"]["wm"]["sources"] == ["filter"]
    assert sorted(p["filter_ignored"]) == ["flops_max", "status"]
    assert p["child"]["constraint"] == "wm in [2, 2.5]"
    pop = load_population(db_engine, sid)
    keep = (pop["wm"] >= 2.0) & (pop["wm"] <= 2.5)
    assert p["in_sample"]["inside_finished"] == int(keep.sum())
    with pytest.raises(InvalidInput, match="none of its ranges") as e:
        refine_study(db_engine, sid, RefineIn(step={"name": "R3"}, filter={"flops_max": 4e6}))
    assert e.value.field == "filter"
    untrained = create_study(db_engine, StudyIn(name="R0", space="RegNetX", regime=REGIME, n=2))["id"]
    with pytest.raises(InvalidInput, match="the parent has 0 finished models") as e:
        refine_study(db_engine, untrained, RefineIn(step={"name": "R4"}, bestrange=["wm"]))
    assert e.value.field == "bestrange"


def test_switch_to_regnet_previews_with_e_fit(db_engine):
    sid, _ = make_study(db_engine, "E", "AnyNetX_E", 40, seed=4)
    p = refine_study(db_engine, sid, RefineIn(step={"name": "RegNetX", "to_regnet": True}, efit_max=0.1))["preview"]
    s = p["in_sample"]
    assert s["method"] == "e_fit" and s["efit_max"] == 0.1 and s["label"] == IN_SAMPLE
    pop = load_population(db_engine, sid, configs=True)
    e_fit = np.array([fit_width_law(expand_config(c)).e_fit for c in pop.configs])
    shared = np.array([len(set(c["bot_muls"])) == 1 and len(set(c["group_ws"])) == 1 for c in pop.configs])
    expect = pop["id"][(e_fit <= 0.1) & shared & (pop["d"] <= 64)]
    assert sorted(s["ids"]) == sorted(int(i) for i in expect) and len(expect) > 0
    assert p["child"]["space"]["family"] == "regnet" and p["child"]["size"]["dimension"] == 6
    assert p["child"]["size"]["paper_approx"] == pytest.approx(64**4 * 18)
    with pytest.raises(InvalidInput, match="already follows the RegNet law") as e:
        refine_study(db_engine, sid, RefineIn(step={"name": "R", "to_regnet": True},
                                              base="RegNetX"))
    assert e.value.field == "step.to_regnet"


def test_lineage_tree_chain_and_consecutive_statistics(parent_a):
    engine, a, errs_a = parent_a
    ids = {"A": a}
    for parent, name, step in (("A", "B", {"share": ["b"]}), ("B", "C", {"share": ["g"]}),
                               ("C", "D", {"monotone": ["w"]})):
        ids[name] = refine_study(engine, ids[parent], RefineIn(step={"name": name, **step}, preview=False,
                                                               n=30))["study"]["id"]
        train_synthetic(engine, ids[name], seed=len(ids))
    ids["B-alt"] = refine_study(engine, a, RefineIn(step={"name": "B-alt", "monotone": ["w"]}, preview=False,
                                                    n=4))["study"]["id"]
    doc = lineage(engine, ids["C"])
    names = {n["id"]: n["name"] for n in doc["nodes"]}
    assert doc["root_id"] == a and [names[i] for i in doc["chain"]] == ["A", "B", "C", "D"]
    assert sorted(names.values()) == ["A", "B", "B-alt", "C", "D"]
    node = {n["name"]: n for n in doc["nodes"]}
    assert sorted(names[i] for i in node["A"]["children"]) == ["B", "B-alt"]
    assert node["B-alt"]["on_chain"] is False and node["B-alt"]["models"] == 4 and node["B-alt"]["n"] == 0
    assert [s["constraint"] for s in doc["steps"][1:]] == ["shared b (b_i = b)", "shared g (g_i = g)",
                                                          "w_(i+1) >= w_i"]
    for s, space in zip(doc["steps"], ("AnyNetX_A", "AnyNetX_B", "AnyNetX_C", "AnyNetX_D"), strict=True):
        size = space_size(get_space(space))
        assert (s["dimension"], s["size"]) == (size.dimension, str(size.exact)), space
    pops = {n: load_population(engine, ids[n])["error"] for n in ("A", "B", "C", "D")}
    assert doc["steps"][0]["n"] == 80 and doc["steps"][0]["min"] == pytest.approx(min(errs_a.values()))
    for row, (x, y) in zip(doc["table"], (("A", "B"), ("B", "C"), ("C", "D")), strict=True):
        ks = stats.ks_2samp(pops[x], pops[y])
        assert (row["from"], row["to"]) == (x, y)
        assert row["ks"] == pytest.approx(ks.statistic)
        small = min(len(pops[x]), len(pops[y])) < KS.min_n
        assert (row["p_value"], row["ks_absent"] is not None) == ((None, True) if small else
                                                                  (pytest.approx(ks.pvalue), False))
        assert row["delta_mean"] == pytest.approx(np.mean(pops[y]) - np.mean(pops[x]))
    edf = doc["steps"][3]["edf"]
    assert edf["x"][0] == pytest.approx(min(pops["D"])) and edf["y"][-1] == 1.0
    fig = doc["figure"]
    assert fig["layout"]["meta"]["kind"] == "lineage" and fig["layout"]["meta"]["chain"] == ["A", "B", "C", "D"]
    assert [b["label"] for b in fig["layout"]["updatemenus"][0]["buttons"]] == ["all steps", "A → B", "B → C",
                                                                                "C → D"]
    # from the root: the chain stops where the tree branches; from the branch, it runs to its end
    assert [names[i] for i in lineage(engine, a, figure=False)["chain"]] == ["A"]
    assert [names[i] for i in lineage(engine, ids["B-alt"], figure=False)["chain"]] == ["A", "B-alt"]
    with pytest.raises(NotFound):
        lineage(engine, 10_000)


def test_step_between_reads_the_paper_chain_off_the_builtin_specs():
    chain = ["AnyNetX_A", "AnyNetX_B", "AnyNetX_C", "AnyNetX_D", "AnyNetX_E", "RegNetX", "RegNetX_constrained"]
    texts = [step_between(get_space(a), get_space(b)).describe() for a, b in zip(chain, chain[1:], strict=False)]
    assert texts == ["shared b (b_i = b)", "shared g (g_i = g)", "w_(i+1) >= w_i", "d_(i+1) >= d_i",
                     "quantized linear widths (RegNet law)",
                     "d in [12, 28]; wm in [2, 3]; g in [8, 128]; b = 1"]

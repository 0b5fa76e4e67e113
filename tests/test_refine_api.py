"""Refine, lineage and space-size endpoints over a real uvicorn server on SQLite and PostgreSQL."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml
from refine_helpers import REGIME, train_synthetic

from backend.analysis.minimum_n import KS
from backend.designspace.builtin import get_space
from backend.designspace.size import space_size
from backend.services.population import load_population
from db.engine import make_engine


@pytest.fixture(scope="module")
def parent(live_server):
    """Study 'A' (AnyNetX_A, 60 models) created through the API and finished through the queue."""
    c = live_server.client
    r = c.post("/api/studies", json={"name": "api-A", "space": "AnyNetX_A", "regime": REGIME, "n": 60,
                                     "recipe": {"epochs": 1}})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    engine = make_engine(live_server.db_url)
    try:
        errs = train_synthetic(engine, sid)
    finally:
        engine.dispose()
    return live_server, sid, errs


def fields(r) -> list[str]:
    assert r.status_code == 422, r.text
    return [d["field"] for d in r.json()["detail"]]


def test_preview_then_create_a_linked_child(parent):
    srv, sid, errs = parent
    c = srv.client
    n_studies = len(c.get("/api/studies").json())
    r = c.post(f"/api/studies/{sid}/refine", json={"step": {"name": "api-B", "share": ["b"]}})
    assert r.status_code == 200 and r.json()["study"] is None
    p = r.json()["preview"]
    engine = make_engine(srv.db_url)
    try:
        pop = load_population(engine, sid, configs=True)
    finally:
        engine.dispose()
    ids = sorted(int(i) for i, cfg in zip(pop["id"], pop.configs, strict=True) if len(set(cfg["bot_muls"])) == 1)
    s = p["in_sample"]
    assert s["label"] == "in-sample estimate" and sorted(s["ids"]) == ids and s["finished"] == 60
    assert s["child_stats"]["mean"] == pytest.approx(np.mean([errs[i] for i in ids]))
    assert p["child"]["size"]["dimension"] == 13 and p["child"]["size"]["exact"] == str(
        space_size(get_space("AnyNetX_B")).exact)
    assert p["figure"]["layout"]["meta"]["kind"] == "edf"
    assert len(c.get("/api/studies").json()) == n_studies  # a preview writes nothing

    r = c.post(f"/api/studies/{sid}/refine", json={"step": {"name": "api-B", "share": ["b"]}, "preview": False,
                                                   "n": 8, "seed": 5, "recipe": {"epochs": 2}})
    assert r.status_code == 201, r.text
    child = r.json()["study"]
    got = c.get(f"/api/studies/{child['id']}").json()
    assert got["parent_id"] == sid and got["counts"]["jobs"]["queued"] == 8 and got["recipe"]["epochs"] == 2
    assert got["regime"] == c.get(f"/api/studies/{sid}").json()["regime"]
    r = c.post(f"/api/studies/{sid}/refine", json={"step": {"name": "api-B", "share": ["g"]}, "preview": False})
    assert r.status_code == 409 and r.json()["field"] == "name"

    lin = c.get(f"/api/studies/{child['id']}/lineage").json()
    assert [n["name"] for n in lin["nodes"] if n["id"] in lin["chain"]] == ["api-A", "api-B"]
    assert lin["steps"][1]["constraint"] == "shared b (b_i = b)" and lin["steps"][1]["models"] == 8
    assert lin["figure"]["layout"]["meta"]["kind"] == "lineage"
    assert "figure" not in c.get(f"/api/studies/{sid}/lineage", params={"figure": "false"}).json()
    fig = c.get("/api/figures/lineage", params={"study": [sid, child["id"]]}).json()
    assert fig["layout"]["meta"]["chain"] == ["api-A", "api-B"]


def test_refine_errors_name_the_field_and_write_nothing(parent):
    srv, sid, _ = parent
    c = srv.client
    before = len(c.get("/api/studies").json())

    def post(body: dict, study: int = sid):
        return c.post(f"/api/studies/{study}/refine", json={"preview": False, "n": 2, **body})

    assert fields(post({"step": {"name": "x", "narrow": {"zz": [1, 2]}}})) == ["step.narrow.zz"]
    assert fields(post({"step": {"name": "x", "narrow": {"w": [3, 2]}}})) == ["step.narrow.w"]
    assert fields(post({"step": {"name": "bad name!"}})) == ["step.name"]
    assert fields(post({"step": {"name": "x"}, "bestrange": ["wm"]})) == ["bestrange"]
    assert fields(post({"step": {"name": "x"}, "filter": {"flops_max": 1e6}})) == ["filter"]
    assert fields(post({"step": {"name": "x"}, "filter": {"nope_max": 1}})) == ["filter.nope_max"]
    assert fields(post({"step": {"name": "x"}, "recipe": {"epochs": 0}})) == ["recipe.epochs"]
    assert fields(post({"step": {"name": "x", "share": ["w0"]}})) == ["step.share/monotone.w0"]
    for n in (-1, 0):  # the one rule of every n: at least 1 when given
        r = post({"step": {"name": "x"}, "n": n})
        assert fields(r) == ["n"] and "allowed range [1, ∞)" in r.json()["detail"][0]["msg"]
    assert fields(post({"step": {"name": "x"}, "efit_max": 0})) == ["efit_max"]
    assert fields(post({"step": {"name": "x"}, "surprise": 1})) == ["surprise"]
    assert post({"step": {"name": "x"}}, study=999_999).status_code == 404
    assert len(c.get("/api/studies").json()) == before
    assert c.get("/api/studies/999999/lineage").status_code == 404


def test_space_sizes_match_table_1(live_server, reference_dir):
    c = live_server.client
    with open(reference_dir / "paper" / "design_space_summary_table1.csv") as f:
        table = {r["design_space"]: r for r in csv.DictReader(f)}
    for paper, ours in (("AnyNetX_A", "AnyNetX_A"), ("AnyNetX_B", "AnyNetX_B"), ("AnyNetX_C", "AnyNetX_C"),
                        ("AnyNetX_D", "AnyNetX_D"), ("AnyNetX_E", "AnyNetX_E"), ("RegNet", "RegNetX")):
        r = c.get(f"/api/spaces/{ours}/size")
        assert r.status_code == 200
        got = r.json()
        assert got["dimension"] == int(table[paper]["dim"]), paper
        assert f"{got['paper_approx']:.1e}" == f"{float(table[paper]['total_approx']):.1e}", paper
        assert got["exact"] == str(space_size(get_space(ours)).exact)
    d = c.get("/api/spaces/AnyNetX_D/size").json()
    assert int(d["exact"]) > d["paper_approx"] and d["params"]["w"]["rule"] == "monotone"
    assert c.get("/api/spaces/RegNetX/size", params={"paper_levels": 10}).json()["paper_approx"] == 10**4 * 18
    assert c.get("/api/spaces/nope/size").status_code == 404
    assert fields(c.get("/api/spaces/RegNetX/size", params={"paper_levels": 1})) == ["paper_levels"]

    spec = get_space("AnyNetX_E").model_dump(mode="json")
    spec["params"]["g"] = {"law": "fixed", "value": 8}
    by_text = c.post("/api/spaces/size", json={"text": yaml.safe_dump(spec)}).json()
    by_obj = c.post("/api/spaces/size", json={"space": spec}).json()
    assert by_text == by_obj and by_text["dimension"] == 9 and by_text["params"]["g"]["rule"] == "fixed"
    assert c.post("/api/spaces/size", json={"space": "RegNetX"}).json()["dimension"] == 6
    assert fields(c.post("/api/spaces/size", json={})) == ["space"]
    assert fields(c.post("/api/spaces/size", json={"text": "name: x\nfamily: nope"})) == ["text.family"]
    assert fields(c.post("/api/spaces/size", json={"space": "NotASpace"})) == ["space"]


def test_refine_needs_the_write_token(server_factory, sqlite_url):
    srv = server_factory(sqlite_url, NETSPACE_TOKEN="s3cret")
    auth = {"Authorization": "Bearer s3cret"}
    sid = srv.client.post("/api/studies", json={"name": "tok", "space": "RegNetX", "regime": REGIME, "n": 3},
                          headers=auth).json()["id"]
    body = {"step": {"name": "tok2", "fix": {"b": 1}}}
    assert srv.client.post(f"/api/studies/{sid}/refine", json=body).status_code == 401
    r = srv.client.post(f"/api/studies/{sid}/refine", json=body, headers=auth)
    assert r.status_code == 200 and r.json()["preview"]["in_sample"]["finished"] == 0
    assert srv.client.get(f"/api/studies/{sid}/lineage").status_code == 200  # reads stay open


def test_ks_p_value_only_from_the_minimum_n_in_preview_and_lineage(parent):
    """The preview's and the lineage table's p-value is null below minimum_n.KS per side, with the reason."""
    srv, sid, errs = parent
    c = srv.client

    def in_sample(step: dict) -> dict:
        r = c.post(f"/api/studies/{sid}/refine", json={"step": {"name": "ks-x", **step}})
        assert r.status_code == 200, r.text
        return r.json()["preview"]["in_sample"]

    few = in_sample({"share": ["b"]})  # b_1 = ... = b_4 for about 1 model in 27
    assert 0 < few["inside_finished"] < KS.min_n and few["ks"] is not None
    assert few["p_value"] is None
    assert few["ks_absent"] == (f"KS p-value omitted: n=60 vs {few['inside_finished']} < {KS.min_n} per side "
                                "needed for a two-sample KS verdict")
    every = in_sample({"narrow": {"b": [1, 4]}})  # holds every value: all 60 models on both sides
    assert every["inside_finished"] == 60 and every["ks_absent"] is None
    assert every["p_value"] == pytest.approx(1.0) and every["ks"] == pytest.approx(0.0)

    r = c.post(f"/api/studies/{sid}/refine", json={"step": {"name": "ks-child", "share": ["g"]}, "preview": False,
                                                   "n": 2})
    assert r.status_code == 201, r.text
    table = c.get(f"/api/studies/{r.json()['study']['id']}/lineage", params={"figure": "false"}).json()["table"]
    assert [(t["from"], t["to"], t["p_value"], t["ks_absent"]) for t in table] == [
        ("api-A", "ks-child", None, "KS omitted: a step without finished models")]

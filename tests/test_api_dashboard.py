"""The dashboard's own endpoints on a real uvicorn server: the columnar population, the demo, spec checks."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from conftest import finish_jobs

from backend.designspace.builtin import SPACES_DIR
from backend.study_spec import recipe_preset


def decode_bin(body: bytes) -> dict:
    """An independent reader of the `format=bin` layout documented in backend/api/routes/population.py."""
    assert body[:4] == b"NSP1"
    (hlen,) = struct.unpack("<I", body[4:8])
    header = json.loads(body[8:8 + hlen])
    assert (8 + hlen) % 8 == 0, "data must start 8-byte aligned (typed-array views need it)"
    dtypes = {"int32": "<i4", "uint32": "<u4", "int16": "<i2", "uint16": "<u2", "int8": "i1", "uint8": "u1",
              "float32": "<f4", "float64": "<f8"}
    cols = {}
    for c in header["columns"]:
        dt = np.dtype(dtypes[c["dtype"]])
        start = 8 + hlen + c["offset"]
        assert start % dt.itemsize == 0
        raw = np.frombuffer(body, dtype=dt, count=header["n"], offset=start)
        # narrow dtypes widened back; "decimals": integers standing for value * 10**k
        cols[c["name"]] = raw / 10.0 ** c["decimals"] if c.get("decimals") else raw
    return {"header": header, "cols": cols}


@pytest.fixture(scope="module")
def study(sqlite_server) -> dict:
    r = sqlite_server.client.post("/api/studies", json={
        "name": "pop-test", "space": "RegNetX", "dataset": {"name": "digits"}, "im_size": 32,
        "regime": {"flops": [None, "5M"]}, "recipe": {"epochs": 1}, "n": 30, "seed": 3})
    assert r.status_code == 201, r.text
    return r.json()


def test_population_json_matches_models_endpoint(sqlite_server, study):
    pop = sqlite_server.client.get(f"/api/studies/{study['id']}/population", params={"format": "json"}).json()
    models = sqlite_server.client.get(f"/api/studies/{study['id']}/models", params={"limit": 1000}).json()
    rows = {m["id"]: m for m in models["items"]}
    assert pop["n"] == models["total"] == 30
    cols = pop["columns"]
    assert sorted(cols["id"]) == cols["id"] == sorted(rows)
    for i, mid in enumerate(cols["id"]):
        m = rows[mid]
        assert cols["status"][i] == m["status"] == "queued"
        for name in ("flops", "params", "acts", "d", "w0", "wa", "wm", "g", "b", "w_1", "d_4"):
            assert cols[name][i] == pytest.approx(m[name]), name
    assert all(e is None for e in cols["error"])
    assert "d_5" not in cols  # a 4-stage space has no fifth stage: empty columns are not sent


def test_population_binary_follows_finished_jobs(sqlite_server, study):
    url = f"/api/studies/{study['id']}/population"
    before = decode_bin(sqlite_server.client.get(url).content)
    assert before["header"]["n"] == 30 and np.isnan(before["cols"]["error"]).all()
    errors = [12.5, 7.25, 30.0]
    done = finish_jobs(sqlite_server.db_url, study["id"], errors)
    after = decode_bin(sqlite_server.client.get(url).content)  # the cache must notice the new results
    cols, names = after["cols"], after["header"]["status_names"]
    by_id = dict(zip(cols["id"].tolist(), range(30), strict=True))
    for mid, e in zip(done, errors, strict=True):
        assert cols["error"][by_id[mid]] == e
        assert names[cols["status"][by_id[mid]]] == "done"
        assert cols["infer_ms"][by_id[mid]] == 1.25
    assert int(np.isfinite(cols["error"]).sum()) == 3
    counts = sqlite_server.client.get(f"/api/studies/{study['id']}").json()["counts"]
    assert counts["best_error"] == 7.25 and counts["mean_error"] == pytest.approx(sum(errors) / 3)
    as_json = sqlite_server.client.get(url, params={"format": "json"}).json()["columns"]
    assert as_json["flops"] == cols["flops"].tolist()
    assert [names[s] for s in cols["status"]] == as_json["status"]


def test_population_unknown_study_and_bad_format(sqlite_server):
    r = sqlite_server.client.get("/api/studies/999999/population")
    assert r.status_code == 404 and "999999" in r.json()["detail"]
    r = sqlite_server.client.get("/api/studies/1/population", params={"format": "xml"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "format"


def test_demo_creates_both_studies_once(server_factory, sqlite_url):
    srv = server_factory(sqlite_url)
    r = srv.client.post("/api/demo")
    assert r.status_code == 201, r.text
    out = r.json()
    assert [s["name"] for s in out["studies"]] == ["demo RegNetX", "demo AnyNetX_A"]
    assert [s["queued"] for s in out["studies"]] == [24, 24] and out["models"] == 48
    studies = {s["name"]: s for s in srv.client.get("/api/studies").json()}
    for name, space in (("demo RegNetX", "RegNetX"), ("demo AnyNetX_A", "AnyNetX_A")):
        s = studies[name]
        assert s["space_name"] == space and s["dataset"] == {"name": "digits"} and s["im_size"] == 32
        assert s["recipe"] == recipe_preset("cpu-proxy").model_dump() and s["regime"] == {"flops": [None, 5e6]}
        assert s["counts"]["jobs"]["queued"] == 24
    again = srv.client.post("/api/demo")
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    assert len(srv.client.get("/api/studies").json()) == 2


def test_space_validation_answers_verdicts(sqlite_server):
    text = (SPACES_DIR / "RegNetX.yaml").read_text()
    ok = sqlite_server.client.post("/api/spaces/validate", json={"text": text}).json()
    assert ok["valid"] and ok["spec"]["name"] == "RegNetX" and ok["dimension"] == 6 and ok["size"] > 1e11
    bad = sqlite_server.client.post("/api/spaces/validate",
                                    json={"text": text.replace("low: 8, high: 256, q: 8", "low: 9, high: 256, q: 8")})
    assert bad.status_code == 200
    assert bad.json() == {"valid": False, "errors": [
        {"field": "space.params.w0.low/high", "msg": "must be multiples of q=8.0 (got 9.0, 256.0)"}]}
    broken = sqlite_server.client.post("/api/spaces/validate", json={"text": "name: X\nfamily: [regnet"}).json()
    assert not broken["valid"] and broken["errors"][0]["field"] == "space"
    assert "line 2" in broken["errors"][0]["msg"]
    as_json = sqlite_server.client.post("/api/spaces/validate", json={"text": json.dumps(ok["spec"])}).json()
    assert as_json["valid"] and as_json["spec"] == ok["spec"]
    empty = sqlite_server.client.post("/api/spaces/validate", json={"text": ""})
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "text"


def test_figures_take_the_models_filter(sqlite_server, study):
    """The dashboard sends its one filter to the figure endpoints: the figure is of the filtered population."""
    c, sid = sqlite_server.client, study["id"]
    finished = c.get(f"/api/studies/{sid}/models", params={"status": "done", "sort": "flops"}).json()["items"]
    assert len(finished) >= 3
    cut = finished[1]["flops"]
    kept = c.get(f"/api/studies/{sid}/models", params={"status": "done", "flops_max": cut}).json()["total"]
    assert 0 < kept < len(finished)

    def legend(fig: dict) -> str:
        return " ".join(t.get("name") or "" for t in fig["data"])

    whole = c.get(f"/api/studies/{sid}/figures/edf").json()
    part = c.get(f"/api/studies/{sid}/figures/edf", params={"flops_max": cut}).json()
    assert f"n={len(finished)}" in legend(whole) and f"n={kept}" in legend(part)
    overlay = c.get("/api/figures/edf", params={"study": sid, "flops_max": cut}).json()
    assert f"n={kept}" in legend(overlay)
    ids = ",".join(str(m["id"]) for m in finished[:2])
    by_ids = c.get(f"/api/studies/{sid}/figures/scatter", params={"param": "flops", "ids": ids}).json()
    assert "n=2" in legend(by_ids)
    bad = c.get(f"/api/studies/{sid}/figures/edf", params={"flops_min": 5, "flops_max": 1})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"].startswith("flops_max")
    unknown = c.get(f"/api/studies/{sid}/figures/edf", params={"flopz_max": 1})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "flopz_max"


def test_normalized_edf_without_bins_says_why_instead_of_failing(sqlite_server):
    """Two finished models per study cannot fill any binning: the dashboard's request (no `bins`) gets a figure
    saying so (no failed request in the browser console); an explicit `bins` still gets the 422."""
    c = sqlite_server.client
    ids = []
    for name in ("few-a", "few-b"):
        r = c.post("/api/studies", json={"name": name, "space": "RegNetX", "n": 2, "regime": {"flops": [None, "5M"]}})
        ids.append(r.json()["id"])
        finish_jobs(sqlite_server.db_url, ids[-1], [10.0, 20.0])
    fig = c.get("/api/figures/edf_normalized", params={"study": ids})
    assert fig.status_code == 200
    note = fig.json()["layout"]["annotations"][0]["text"]
    assert note.startswith("not drawn:") and "bin" in note
    explicit = c.get("/api/figures/edf_normalized", params={"study": ids, "bins": 10})
    assert explicit.status_code == 422 and explicit.json()["detail"][0]["field"] == "bins"


def test_cached_figure_populations_follow_new_results(sqlite_server, study):
    """Figure requests of one view share a population read; a finished job must still show at once."""
    c, sid = sqlite_server.client, study["id"]

    def n_in_edf() -> int:
        names = " ".join(t.get("name") or "" for t in c.get(f"/api/studies/{sid}/figures/edf").json()["data"])
        return int(names.split("n=")[1].split()[0])

    before = n_in_edf()
    assert n_in_edf() == before  # served from the cache: same answer
    finish_jobs(sqlite_server.db_url, sid, [3.5])
    assert n_in_edf() == before + 1

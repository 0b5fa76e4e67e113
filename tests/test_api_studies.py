"""Studies and samples over a real uvicorn server, on SQLite and PostgreSQL: create, dedupe, 422/404/409 with
nothing written on failure, delete with confirmation, health, spaces."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from db.engine import make_engine
from db.models import events


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def n_events(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
    finally:
        engine.dispose()


def snapshot(srv) -> tuple:
    """What a failed request must leave unchanged: the studies, the queue and the events log."""
    studies = srv.client.get("/api/studies").json()
    return [(s["id"], s["counts"]["models"]) for s in studies], srv.client.get("/api/jobs").json()["total"], \
        n_events(srv.db_url)


def fields(resp) -> list[str]:
    assert resp.status_code == 422, resp.text
    return [d["field"] for d in resp.json()["detail"]]


def test_health_and_spaces(live_server):
    c = live_server.client
    h = c.get("/api/health").json()
    assert h["status"] == "ok" and h["version"]
    assert h["database"] == ("postgresql" if "postgresql" in live_server.db_url else "sqlite")
    assert set(h["queue"]) == {"queued", "running", "done", "failed", "cancelled"}
    names = [s["name"] for s in c.get("/api/spaces").json()]
    assert names[:7] == ["AnyNetX_A", "AnyNetX_B", "AnyNetX_C", "AnyNetX_D", "AnyNetX_E", "RegNetX", "RegNetY"]
    spec = c.get("/api/spaces/RegNetY").json()
    assert spec["family"] == "regnet" and spec["se_r"] == 0.25 and set(spec["params"]) >= {"w0", "wa", "wm"}
    r = c.get("/api/spaces/NoSuch")
    assert r.status_code == 404 and "RegNetX" in r.json()["detail"]
    assert c.get("/docs").status_code == 200 and "/api/studies" in c.get("/openapi.json").json()["paths"]


def test_create_sample_dedupe_and_read(live_server):
    c = live_server.client
    name = unique("regnet")
    r = c.post("/api/studies", json={"name": name, "space": "RegNetX", "seed": 3, "n": 20,
                                     "regime": {"flops": [None, "30M"]}, "recipe": {"epochs": 2, "lr": 0.1}})
    assert r.status_code == 201, r.text
    s = r.json()
    assert (s["name"], s["space_name"], s["im_size"], s["num_classes"], s["seed"]) == (name, "RegNetX", 32, 10, 3)
    assert s["recipe"]["epochs"] == 2 and s["dataset"] == {"name": "digits"}
    assert s["regime"] == {"flops": [None, 30e6]}
    assert s["samples"]["queued"] == 20 and s["counts"]["jobs"]["queued"] == 20
    sid = s["id"]
    again = c.post(f"/api/studies/{sid}/samples", json={"n": 20, "seed": 3}).json()
    assert (again["queued"], again["duplicates"]) == (0, 20)  # same seed: nothing new
    more = c.post(f"/api/studies/{sid}/samples", json={"n": 25, "seed": 3, "priority": 7}).json()
    assert (more["queued"], more["duplicates"]) == (5, 20) and more["candidates"] > 0
    assert 0 < more["acceptance_rate"] <= 1
    other = c.post(f"/api/studies/{sid}/samples", json={"n": 10, "seed": 99}).json()
    assert other["queued"] + other["duplicates"] == 10 and other["queued"] >= 8
    got = c.get(f"/api/studies/{sid}").json()
    assert got["counts"]["models"] == 25 + other["queued"]
    assert name in [x["name"] for x in c.get("/api/studies").json()]
    page = c.get(f"/api/studies/{sid}/models", params={"limit": 1000}).json()
    assert page["total"] == got["counts"]["models"]
    assert [m["index"] for m in page["items"]] == list(range(page["total"]))
    assert all(m["flops"] <= 30e6 for m in page["items"])
    jobs = c.get("/api/jobs", params={"study_id": sid, "limit": 5}).json()
    assert [j["priority"] for j in jobs["items"]] == [7] * 5  # claim order: priority first


def test_custom_space_spec_and_dataset_paths(live_server, tmp_path):
    c = live_server.client
    spec = c.get("/api/spaces/AnyNetX_E").json()
    spec["name"] = "narrow_E"
    spec["params"]["d"]["high"] = 4
    r = c.post("/api/studies", json={"name": unique("custom"), "space": spec, "n": 5})
    assert r.status_code == 201, r.text
    assert r.json()["space"]["params"]["d"]["high"] == 4 and r.json()["space_name"] == "narrow_E"
    folder = tmp_path / "imgs"
    for split in ("train", "val"):
        for cls in ("cat", "dog", "fox"):
            (folder / split / cls).mkdir(parents=True)
    r = c.post("/api/studies", json={"name": unique("folder"), "space": "RegNetX",
                                     "dataset": {"name": "imagefolder", "path": str(folder)}})
    assert r.status_code == 201, r.text
    assert (r.json()["num_classes"], r.json()["im_size"]) == (3, 224)


def test_bad_input_is_422_naming_the_field_and_writes_nothing(live_server, tmp_path):
    c = live_server.client
    sid = c.post("/api/studies", json={"name": unique("base"), "space": "RegNetX", "n": 3}).json()["id"]
    before = snapshot(live_server)
    bad_spec = c.get("/api/spaces/RegNetX").json()
    bad_spec["params"]["wm"]["low"] = 0.5
    cases = [
        ({"name": "", "space": "RegNetX"}, "name", "length [1, 200]"),
        ({"name": "bad/name", "space": "RegNetX"}, "name", None),
        ({"name": unique("x"), "space": "NoSuchSpace"}, "space", "RegNetX"),
        ({"name": unique("x"), "space": bad_spec}, "space.params.wm", "(1, 100]"),
        ({"name": unique("x"), "space": "RegNetX", "recipe": {"epochs": 0}}, "recipe.epochs", "[1, 1000]"),
        ({"name": unique("x"), "space": "RegNetX", "im_size": 4096}, "im_size", "[8, 1024]"),
        ({"name": unique("x"), "space": "RegNetX", "regime": {"flops": [5e8, 1e8]}}, "regime.flops",
         "low must be <= high"),
        ({"name": unique("x"), "space": "RegNetX", "regime": {"macs": [1, 2]}}, "regime", "allowed: flops"),
        ({"name": unique("x"), "space": "RegNetX", "colour": "red"}, "colour", None),
        ({"name": unique("x"), "space": "RegNetX", "n": 10_001}, "n", "[1, 10000]"),
        # one rule for n with POST /samples below: at least 1 when given (leave it out for no samples)
        ({"name": unique("x"), "space": "RegNetX", "n": 0}, "n", "[1, ∞)"),
        ({"name": unique("x"), "space": "RegNetX", "n": 5, "regime": {"flops": [1, 2]}}, "regime", "widen"),
        ({"name": unique("x"), "space": "RegNetX", "dataset": {"name": "cifar10", "path": str(tmp_path / "nope")}},
         "dataset.path", str(tmp_path / "nope")),
        ({"name": unique("x"), "space": "RegNetX", "dataset": {"name": "cifar10"}}, "dataset.path", "required"),
    ]
    for body, field, text in cases:
        r = c.post("/api/studies", json=body)
        assert field in fields(r), (body, r.json())
        if text:
            assert text in r.json()["message"], (body, r.json())
    for body, field, text in [({"n": 0}, "n", "[1, ∞)"), ({"n": 10_001}, "n", "[1, 10000]"),
                              ({"n": 2, "priority": 5000}, "priority", "[-1000, 1000]"),
                              ({"n": 2, "seed": -1}, "seed", None), ({"count": 2}, "n", None)]:
        r = c.post(f"/api/studies/{sid}/samples", json=body)
        assert field in fields(r), (body, r.json())
        assert text is None or text in r.json()["message"]
    r = c.post(f"/api/studies/{sid}/samples", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert snapshot(live_server) == before


def test_unknown_ids_are_404_and_duplicates_409(live_server):
    c = live_server.client
    name = unique("dup")
    assert c.post("/api/studies", json={"name": name, "space": "AnyNetX_A"}).status_code == 201
    before = snapshot(live_server)
    r = c.post("/api/studies", json={"name": name, "space": "RegNetX", "n": 2})
    assert r.status_code == 409 and r.json()["field"] == "name"
    for method, path in [("get", "/api/studies/999999"), ("post", "/api/studies/999999/samples"),
                         ("get", "/api/studies/999999/models"), ("get", "/api/studies/999999/export"),
                         ("delete", "/api/studies/999999?confirm=true"), ("get", "/api/models/999999"),
                         ("post", "/api/jobs/999999/cancel"), ("post", "/api/jobs/999999/requeue"),
                         ("get", "/api/jobs/999999")]:
        kw = {"json": {"n": 1}} if path.endswith("samples") else {}
        r = c.request(method, path, **kw)
        assert r.status_code == 404, (path, r.text)
    assert c.get("/api/studies/0").status_code == 422  # ids are >= 1
    assert c.get("/api/studies/abc").status_code == 422
    assert snapshot(live_server) == before


def test_delete_needs_confirmation_and_cascades(live_server):
    c = live_server.client
    sid = c.post("/api/studies", json={"name": unique("gone"), "space": "RegNetX", "n": 4}).json()["id"]
    r = c.delete(f"/api/studies/{sid}")
    assert fields(r) == ["confirm"] and "4 models" in r.json()["message"]
    assert c.get(f"/api/studies/{sid}").status_code == 200
    r = c.delete(f"/api/studies/{sid}", params={"confirm": "true"})
    assert r.status_code == 200 and r.json()["models"] == 4
    assert c.get(f"/api/studies/{sid}").status_code == 404
    assert c.get("/api/jobs", params={"study_id": sid}).json()["total"] == 0

"""Hostile input over a real uvicorn server on SQLite: path traversal, oversized uploads, huge n, deeply nested
specs, NaN/inf in bodies. Each is refused with a 4xx whose message names what is wrong, and nothing is written
(row counts of every table are compared before and after)."""

from __future__ import annotations

import json

import pytest
from conftest import LiveServer
from sqlalchemy import text

from backend.designspace.builtin import get_space
from db.engine import make_engine

TABLES = ("studies", "models", "jobs", "results", "events")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A server with a 1 MiB body limit and max_n 100, one study in it, and a row counter for its database."""
    d = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{d / 'netspace.db'}"
    srv = LiveServer(url, d, {"NETSPACE_MAX_UPLOAD_MB": "1", "NETSPACE_MAX_N": "100"})
    r = srv.client.post("/api/studies", json={"name": "base", "space": "RegNetX", "n": 3})
    assert r.status_code == 201, r.text
    engine = make_engine(url)

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}

    yield srv, r.json()["id"], counts
    engine.dispose()
    srv.stop()


def refused(r, status: int, *words: str) -> str:
    """The response's message (422 `message` or other `detail`), checked to contain every word."""
    assert r.status_code == status, r.text
    body = r.json()
    msg = body.get("message") or body["detail"]
    msg = msg if isinstance(msg, str) else json.dumps(msg)
    for w in words:
        assert w in msg, (w, msg)
    return msg


def post_raw(srv, path: str, raw: str):
    return srv.client.post(path, content=raw.encode(), headers={"content-type": "application/json"})


def test_dataset_path_traversal_is_refused_even_when_the_target_exists(hostile, tmp_path):
    srv, _, counts = hostile
    target = tmp_path / "elsewhere"
    for d in ("train/a", "train/b", "val/a", "val/b"):
        (target / d).mkdir(parents=True)
    sneaky = str(tmp_path / "inside" / ".." / "elsewhere")
    (tmp_path / "inside").mkdir()
    before = counts()
    for path in (sneaky, "../../../../etc", "data/../../secrets"):
        r = srv.client.post("/api/studies", json={"name": "trav", "space": "RegNetX", "n": 1,
                                                  "dataset": {"name": "imagefolder", "path": path}})
        refused(r, 422, "dataset.path", "'..'")
    ok = srv.client.post("/api/studies", json={"name": "direct", "space": "RegNetX",
                                               "dataset": {"name": "imagefolder", "path": str(target)}})
    assert ok.status_code == 201, ok.text  # the same directory named plainly is fine
    assert counts()["models"] == before["models"]


def test_import_file_names_are_never_used_as_paths(hostile, tmp_path):
    srv, _, counts = hostile
    before = counts()
    evil = tmp_path / "evil.jsonl"
    for name in (f"../../../../..{evil}", str(evil), "..\\..\\evil.jsonl", "a/../../b.json"):
        r = srv.client.post("/api/studies/import", files={"file": (name, b'{"not": "a run"}\n')},
                            data={"study": "evil"})
        refused(r, 422, "file")
    assert not evil.exists()
    assert counts() == before


def test_oversized_uploads_and_bodies_are_refused_before_parsing(hostile):
    srv, _, counts = hostile
    before = counts()
    big = b'{"index": 0}\n' * ((1 << 20) // 13 + 10)  # just over 1 MiB
    r = srv.client.post("/api/studies/import", files={"file": ("big.jsonl", big)}, data={"study": "big"})
    refused(r, 413, "1 MiB", "NETSPACE_MAX_UPLOAD_MB")
    r = post_raw(srv, "/api/studies", json.dumps({"name": "big", "space": "RegNetX", "notes": "x" * (2 << 20)}))
    refused(r, 413, "NETSPACE_MAX_UPLOAD_MB")

    def chunks():  # no Content-Length: the limit is counted on the stream
        for _ in range(3):
            yield b"x" * (600 << 10)

    r = srv.client.post("/api/studies", content=chunks(), headers={"content-type": "application/json"})
    refused(r, 413, "NETSPACE_MAX_UPLOAD_MB")
    assert counts() == before
    assert srv.client.get("/api/health").status_code == 200


@pytest.mark.parametrize("n", [101, 10**6, 2**63, 10**30])
def test_huge_n_is_refused_with_the_limit(hostile, n):
    srv, study_id, counts = hostile
    before = counts()
    refused(srv.client.post("/api/studies", json={"name": f"huge{n}", "space": "RegNetX", "n": n}),
            422, "n:", "NETSPACE_MAX_N", "100")
    refused(srv.client.post(f"/api/studies/{study_id}/samples", json={"n": n}), 422, "n:", "NETSPACE_MAX_N")
    refined = {"step": {"name": "huge", "narrow": {"d": [1, 32]}}, "preview": False, "n": n}
    r = srv.client.post(f"/api/studies/{study_id}/refine", json=refined)
    refused(r, 422, "n")
    assert counts() == before


@pytest.mark.parametrize("depth", [60, 900, 20_000])
def test_deeply_nested_specs_are_refused(hostile, depth):
    srv, _, counts = hostile
    before = counts()
    nested = '{"params": ' * depth + "1" + "}" * depth
    for path, body in (("/api/studies", '{"name": "deep", "space": %s}'), ("/api/spaces/size", '{"space": %s}')):
        r = post_raw(srv, path, body % nested)
        assert r.status_code in (400, 422), r.text
        assert ("space" in r.text) if r.status_code == 422 else "parsing the body" in r.text
    assert counts() == before
    assert srv.client.get("/api/health").status_code == 200


def test_nan_and_inf_in_bodies_are_refused_naming_the_field(hostile):
    srv, study_id, counts = hostile
    before = counts()
    custom = get_space("RegNetX").model_dump(mode="json") | {"name": "nanspace"}
    cases = [
        ("/api/studies", {"name": "nan1", "space": "RegNetX", "recipe": {"lr": "NaN"}}, "recipe.lr"),
        ("/api/studies", {"name": "nan2", "space": "RegNetX", "recipe": {"wd": "Infinity"}}, "recipe.wd"),
        ("/api/studies", {"name": "nan3", "space": "RegNetX", "regime": {"flops": ["NaN", 1e9]}, "n": 2},
         "regime.flops"),
        ("/api/studies", {"name": "nan4", "space": "RegNetX", "n": "Infinity"}, "n"),
        ("/api/studies", {"name": "nan5", "space": custom | {"params": custom["params"] | {
            "wm": custom["params"]["wm"] | {"high": "Infinity"}}}, "n": 2}, "space"),
        (f"/api/studies/{study_id}/samples", {"n": 1, "seed": "NaN"}, "seed"),
    ]
    for path, body, field in cases:
        raw = json.dumps(body).replace('"NaN"', "NaN").replace('"Infinity"', "Infinity")
        msg = refused(post_raw(srv, path, raw), 422, field)
        assert "finite" in msg or "nan" in msg.lower() or "inf" in msg.lower(), msg
    assert counts() == before


@pytest.mark.parametrize("raw", ["AAA", "[1, 2]", '{"lr": 3}', '{"lr": ["a", 1]}'])
def test_a_malformed_extra_ranges_is_422_naming_it(hostile, raw):
    """The fuzzer's find: `extra_ranges` sent as itself (not as `<name>_min/_max`) in any other shape than
    {name: [low, high]} was a 500."""
    srv, study_id, _ = hostile
    r = srv.client.get(f"/api/studies/{study_id}/models", params={"extra_ranges": raw})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"].startswith("extra_ranges"), r.text

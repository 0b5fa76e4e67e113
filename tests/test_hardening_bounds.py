"""No 500s for out-of-range input, and bounded work for any spec or stored config (issue 18, items 1, 4 and 8).

Over the live server on SQLite and PostgreSQL: ids past either database's integer (`RowId`, 1..2^31-1), NUL
characters (PostgreSQL stores none), inf in a spec, YAML nested ~500 deep, `q: 1e-8`, NDS `flops: 1e30` and a
custom-arch record with 5,000,000 blocks in a stage. Each is a 422 (or the spec check's invalid verdict) naming
the field, and the server stays healthy.
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from backend.designspace.builtin import get_space
from backend.services.ids import MAX_ID

HUGE_IDS = (MAX_ID + 1, 3_000_000_000, 2**63, 9223372036854775808 * 10)


def _item(r, status: int = 422) -> dict:
    assert r.status_code == status, r.text
    return r.json()["detail"][0]


@pytest.fixture(scope="module")
def study(live_server) -> int:
    r = live_server.client.post("/api/studies", json={"name": f"bounds-{live_server.port}", "space": "RegNetX",
                                                      "n": 3})
    assert r.status_code == 201, r.text
    return r.json()["id"]


@pytest.mark.parametrize("big", HUGE_IDS)
def test_ids_past_the_integer_column_are_422_with_the_range(live_server, study, big):
    c = live_server.client
    cases = [
        (f"/api/studies/{study}/models", {"ids": big}, "ids"),
        (f"/api/studies/{study}/figures/edf", {"ids": big}, "ids"),
        (f"/api/studies/{study}/export", {"ids": f"1,{big}"}, "ids"),
        ("/api/jobs", {"study_id": big}, "study_id"),
        ("/api/figures/edf", {"study": big}, "study"),
        ("/api/events", {"last_id": big}, "last_id"),
        ("/api/events", {"study_id": big}, "study_id"),
        (f"/api/models/{big}", {}, "model_id"),
        (f"/api/studies/{big}/lineage", {}, "study_id"),
        (f"/api/jobs/{big}", {}, "job_id"),
    ]
    for path, params, field in cases:
        item = _item(c.get(path, params=params))
        assert item["field"] == field and item["allowed"] == f"[1, {MAX_ID}]" or (
            field == "last_id" and item["allowed"] == f"[0, {MAX_ID}]"), (path, item)
    assert c.get(f"/api/studies/{study}/models", params={"ids": MAX_ID}).json()["total"] == 0  # the bound is valid
    assert c.get("/api/health").status_code == 200


def test_an_out_of_range_last_event_id_header_is_ignored(live_server):
    """The header cannot name one of our events: the stream starts at the newest event, as without it, and
    keeps delivering (it used to answer 200 and then break on the first read)."""
    c = live_server.client
    with c.stream("GET", "/api/events", headers={"Last-Event-ID": str(2**64)}, timeout=10) as r:
        assert r.status_code == 200
        made = c.post("/api/studies", json={"name": f"after-header-{time.monotonic_ns()}", "space": "RegNetX"})
        assert made.status_code == 201, made.text
        for line in r.iter_lines():
            if line.startswith("data:"):
                assert json.loads(line[5:])["study_id"] == made.json()["id"]
                break


@pytest.mark.parametrize(("method", "path", "kwargs", "field"), [
    ("post", "/api/studies", {"json": {"name": "nul", "space": "RegNetX", "notes": "a\x00b"}}, "notes"),
    ("post", "/api/studies", {"json": {"name": "nul", "space": "RegNetX", "recipe": {"\x00": 1}}}, "recipe"),
    ("get", "/api/studies/{study}/models", {"params": {"arch_type": "a\x00b"}}, "arch_type"),
    ("get", "/api/studies/{study}/export", {"params": {"arch_type": "\x00"}}, "arch_type"),
    ("get", "/api/jobs", {"params": {"worker_id": "w\x00"}}, "worker_id"),
    ("get", "/api/studies/{study}/figures/scatter", {"params": {"param": "d\x00"}}, "param"),
    ("get", "/api/spaces/Reg%00NetX", {}, "path"),
])
def test_nul_characters_are_422_naming_the_field(live_server, study, method, path, kwargs, field):
    r = getattr(live_server.client, method)(path.format(study=study), **kwargs)
    item = _item(r)
    assert item["field"] == field and "NUL" in item["msg"], item
    assert live_server.client.get("/api/health").status_code == 200


def test_a_nul_in_a_spec_description_is_a_field_error(live_server):
    c = live_server.client
    # JSON text whose escape (not the request's own bytes) makes the NUL: the spec parser sees it
    text = json.dumps(get_space("RegNetX").model_dump(mode="json") | {"description": "nul __ here"})
    text = text.replace("__", "\\u0000")
    verdict = c.post("/api/spaces/validate", json={"text": text}).json()
    assert verdict["valid"] is False and verdict["errors"][0]["field"] == "space.description", verdict
    custom = get_space("RegNetX").model_dump(mode="json") | {"name": "nulspace", "description": "a\x00"}
    assert _item(c.post("/api/studies", json={"name": "nulspec", "space": custom}))["field"] == "space.description"


@pytest.mark.parametrize("raw", ["1e999", "-1e999"])
def test_infinite_numbers_in_a_spec_are_422_not_overflow(live_server, raw):
    c = live_server.client
    spec = get_space("RegNetX").model_dump(mode="json") | {"name": "infspace"}
    spec["params"]["d"] = {"law": "fixed", "value": "__INF__"}
    body = json.dumps({"name": "inf", "space": spec}).replace('"__INF__"', raw)
    for path in ("/api/studies", "/api/spaces/size"):
        r = c.post(path, content=body.encode(), headers={"content-type": "application/json"})
        item = _item(r)
        assert item["field"] == "space.params.d.value" and "finite" in item["msg"], item
    text = "name: x\nfamily: anynet\nparams:\n  d: {law: fixed, value: .inf}\n"
    verdict = c.post("/api/spaces/validate", json={"text": text}).json()
    assert verdict["valid"] is False and verdict["errors"][0]["field"] == "space.params.d.value", verdict


def test_yaml_nested_500_deep_is_a_field_error(live_server):
    c = live_server.client
    nested = "name: x\nfamily: anynet\nparams: " + "[" * 500 + "]" * 500
    verdict = c.post("/api/spaces/validate", json={"text": nested}).json()
    assert verdict == {"valid": False, "errors": [{"field": "space", "msg": "nested deeper than 32 levels"}]}
    item = _item(c.post("/api/spaces/size", json={"text": nested}))
    assert item["field"] == "text" and item["allowed"] == "depth <= 32", item


def test_a_tiny_quantum_answers_in_milliseconds(live_server):
    c = live_server.client
    spec = get_space("RegNetX").model_dump(mode="json") | {"name": "tinyq"}
    spec["params"]["wm"] = {"law": "log_uniform", "low": 1.5, "high": 3.0, "q": 1e-8}
    t0 = time.perf_counter()
    item = _item(c.post("/api/spaces/size", json={"space": spec}))
    assert item["field"] == "space.params.wm.q" and item["allowed"].startswith("["), item
    _item(c.post("/api/studies", json={"name": "tinyq", "space": spec}))
    verdict = c.post("/api/spaces/validate", json={"text": json.dumps(spec)}).json()
    assert verdict["valid"] is False and verdict["errors"][0]["field"] == "space.params.wm.q"
    spec["params"]["wm"]["q"] = 1e-5  # 150,001 values: allowed, counted in closed form
    size = c.post("/api/spaces/size", json={"space": spec})
    assert size.status_code == 200 and size.json()["params"]["wm"]["values"] == 150_001
    assert time.perf_counter() - t0 < 2.0  # five requests; listing the grid took seconds (1e-5) or forever


def _upload(c, name: str, data: bytes, study: str, **form: str):
    return c.post("/api/studies/import", files={"file": (name, data)}, data={"study": study, **form})


def _nds_run(reference_dir, **changes) -> list[dict]:
    runs = json.loads((reference_dir / "nds" / "ResNeXt-B_in.json").read_text())[:3]
    runs[1].update(changes)
    return runs


def test_nds_flops_past_bigint_is_a_record_error(live_server, reference_dir):
    c = live_server.client
    for flops in (1e30, 10**30):
        body = json.dumps(_nds_run(reference_dir, flops=flops)).encode()
        item = _item(_upload(c, "ResNeXt-B_in.json", body, f"flops-{live_server.port}"))
        assert (item["record"], item["record_field"]) == ("1", "flops") and "2^63" in item["msg"], item
    r = _upload(c, "ResNeXt-B_in.json", body, f"flops-{live_server.port}", skip_bad="true")
    assert r.status_code == 201 and r.json()["imported"] == 2, r.text
    assert r.json()["skipped_records"][0].startswith("record 1: flops: must be at most")


CUSTOM = {"error": 30.0, "flops": 1000, "params": 100, "arch_type": "custom",
          "config": {"depths": [1, 1, 1, 1], "widths": [8, 16, 32, 64]}}


@pytest.mark.parametrize(("config", "field"), [
    ({"depths": [5_000_000, 1, 1, 1], "widths": [8, 16, 32, 64]}, "config.depths[0]"),
    ({"depths": [1] * 17, "widths": [8] * 17}, "config.depths"),
    ({"depths": [500, 500, 500, 1], "widths": [8, 16, 32, 64]}, "config.depths"),
    ({"depths": [1, 1, 1, 1], "widths": [8, 16, 32, 10**9]}, "config.widths[3]"),
    ({"depths": [1, 1], "widths": [8, 16, 32]}, "config.widths"),
    ({"anynet": {"depths": [1, 10**7], "widths": [8, 8]}}, "config.anynet.depths[1]"),
])
def test_imported_stage_lists_are_bounded_with_a_per_record_reason(live_server, config, field):
    c = live_server.client
    lines = [CUSTOM, CUSTOM | {"config": config, "error": 31.0}, CUSTOM | {"error": 32.0, "flops": 2000}]
    body = "\n".join(json.dumps(x) for x in lines).encode()
    name = f"stages-{live_server.port}-{hashlib.sha1(body).hexdigest()[:8]}"
    item = _item(_upload(c, "x.jsonl", body, name))
    assert item["record"] == "1" and item["record_field"] == field, item
    r = _upload(c, "x.jsonl", body, name, skip_bad="true")
    assert r.status_code == 201 and (r.json()["imported"], r.json()["skipped"]) == (2, 1), r.text
    assert r.json()["skipped_records"][0].startswith(f"record 1: {field}: ")


def test_nul_in_imported_strings_is_a_record_error(live_server):
    c = live_server.client
    for i, bad in enumerate(({"name": "a\x00b"}, {"config": {"depths": [1], "widths": [8], "note": "\x00"}},
                             {"arch_type": "cus\x00tom"})):
        lines = [CUSTOM, CUSTOM | bad | {"error": 31.0}]
        body = "\n".join(json.dumps(x) for x in lines).encode()
        item = _item(_upload(c, "x.jsonl", body, f"nul-{live_server.port}-{i}"))
        assert item["record"] == "1" and "NUL" in item["msg"], item


HUGE_STAGES = {"depths": [5_000_000, 1, 1, 1], "widths": [8, 16, 32, 64], "bot_muls": [1.0] * 4,
               "group_ws": [8] * 4}


def test_e_fit_is_bounded_for_any_config():
    from backend.analysis.widths import e_fit_column, law_e_fits
    from backend.services.derived import e_fit_values

    ok = {"depths": [1, 2, 4, 2], "widths": [32, 64, 128, 256], "bot_muls": [1.0] * 4, "group_ws": [8] * 4}
    configs = [HUGE_STAGES, {"anynet": HUGE_STAGES}, {"depths": [1] * 20, "widths": [8] * 20}, ok]
    law = {**HUGE_STAGES, "regnet": {"w0": 8, "wa": 8.0, "wm": 2.0}}
    t0 = time.perf_counter()
    assert e_fit_values(configs)[:3] == [None] * 3 and e_fit_values(configs)[3] >= 0  # no fit of 5e6 blocks
    out = e_fit_column(configs)
    assert all(v != v for v in out[:3]) and out[3] >= 0
    assert law_e_fits([law]) == [None]  # the sampler's cheap check does not expand it either
    assert time.perf_counter() - t0 < 5


def test_a_stored_row_outside_the_bounds_does_not_stall_its_figures(db_engine):
    """A row stored before imports were bounded (or by another tool): its e_fit figure answers at once."""
    from sqlalchemy import update

    from backend.services.figures import study_figure
    from backend.services.importing import import_file
    from db.models import models

    body = "\n".join(json.dumps(CUSTOM | {"error": 30.0 + i, "flops": 1000 + i}) for i in range(3))
    out = import_file(db_engine, body, "x.jsonl", "stored-huge")
    with db_engine.begin() as conn:
        conn.execute(update(models).where(models.c.study_id == out.study_id, models.c.index == 1)
                     .values(config=HUGE_STAGES))
    t0 = time.perf_counter()
    for kind in ("e_fit", "widths"):
        assert study_figure(db_engine, kind, [out.study_id]) is not None
    assert time.perf_counter() - t0 < 10

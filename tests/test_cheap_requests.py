"""The cheap requests a watched dashboard repeats: a page of models and /api/health answered from caches keyed by
versions the database moves with every change (a page with every event of its study, epochs included; the queue
counts with every job event), and every response timed by the server itself (Server-Timing)."""

from __future__ import annotations

import json

import pytest
from conftest import finish_jobs

from backend.services import jobs as jobs_service
from backend.services import models_query
from backend.services.studies import StudyIn, create_study
from db import queue


def _study(engine, name: str, n: int = 6) -> int:
    return create_study(engine, StudyIn(name=name, space="RegNetX", n=n, regime={"flops": [None, "5M"]}))["id"]


def test_a_page_is_read_again_after_any_event_of_its_study_and_only_then(db_engine, db_url):
    a, b = _study(db_engine, "page-a"), _study(db_engine, "page-b")
    first = models_query.page_json(db_engine, a, limit=5)
    finish_jobs(db_url, b, [0.4, 0.5])  # claims and results of another study
    assert models_query.page_json(db_engine, a, limit=5) is first  # the same bytes object: nothing read

    wid = queue.register_worker(db_engine, "cpu")
    job = queue.claim_job(db_engine, wid, study_id=a)
    assert job is not None
    queue.record_epoch(db_engine, job.job_id, wid, {"epoch": 1, "test_error": 50.0})
    queue.record_epoch(db_engine, job.job_id, wid, {"epoch": 2, "test_error": 40.0})
    # an epoch is no data event (figures keep theirs) but a page shows it: read again, as list_models reads it
    page = json.loads(models_query.page_json(db_engine, a, limit=5))
    row = next(m for m in page["items"] if m["id"] == job.model_id)
    assert row["status"] == "running" and row["epochs_done"] == 2
    assert page == json.loads(json.dumps(models_query.list_models(db_engine, a, limit=5), default=str))

    assert queue.complete_job(db_engine, job.job_id, wid, {"error": 30.0, "test_error": [50.0, 40.0, 30.0]})
    done = json.loads(models_query.page_json(db_engine, a, limit=5))
    assert next(m for m in done["items"] if m["id"] == job.model_id)["status"] == "done"
    other = json.loads(models_query.page_json(db_engine, a, limit=2, offset=1))  # the page is part of the key
    assert [m["id"] for m in other["items"]] == [m["id"] for m in done["items"][1:3]]


def test_health_counts_follow_every_job_change_and_are_not_recounted_between(db_engine, db_url, monkeypatch):
    counted = []
    real = queue.queue_counts
    monkeypatch.setattr(queue, "queue_counts", lambda conn: counted.append(1) or real(conn))  # a spy, not a mock

    before = jobs_service.health(db_engine).queue
    sid = _study(db_engine, "health-counts", n=4)
    queued = jobs_service.health(db_engine).queue
    assert queued["queued"] == before["queued"] + 4
    n = len(counted)
    assert jobs_service.health(db_engine).queue == queued and len(counted) == n  # unchanged queue: no recount

    finish_jobs(db_url, sid, [0.3])
    after = jobs_service.health(db_engine).queue
    assert (after["queued"], after["done"]) == (queued["queued"] - 1, queued["done"] + 1)
    assert after == real(db_engine)

    alive = jobs_service.health(db_engine).workers_alive  # finish_jobs's worker is still registered
    wid = queue.register_worker(db_engine, "cpu")  # live workers are read every time, not cached
    assert jobs_service.health(db_engine).workers_alive == alive + 1
    queue.unregister_worker(db_engine, wid)
    assert jobs_service.health(db_engine).workers_alive == alive


@pytest.mark.parametrize("path", ["/api/health", "/api/studies", "/api/nope"])
def test_every_response_says_how_long_the_server_took(shared_sqlite_server, path):
    r = shared_sqlite_server.client.get(path)
    name, _, dur = r.headers["server-timing"].partition(";dur=")
    assert name == "app" and 0 < float(dur) < 60_000, r.headers["server-timing"]


def _analyzed(engine) -> bool:
    from sqlalchemy import text
    with engine.connect() as conn:
        return conn.execute(text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                                 "WHERE schemaname = current_schema() AND relname = 'models'")).scalar_one()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite's planner keeps no such statistics
def test_a_bulk_write_refreshes_the_planner_statistics_on_postgresql(db_engine, monkeypatch):
    """A fresh study of 10^5 rows looked like 10^3 to the planner until autovacuum came by (the CSV export's
    joins then spilled to disk): queueing or importing many rows analyzes their tables at once."""
    import db.engine
    from backend.services.sampling import queue_samples

    sid = _study(db_engine, "stats", n=3)  # below ANALYZE_MIN_ROWS: left to autovacuum
    assert not _analyzed(db_engine)
    monkeypatch.setattr(db.engine, "ANALYZE_MIN_ROWS", 4)
    queue_samples(db_engine, sid, 5, seed=7)
    assert _analyzed(db_engine)


def _request(query: bytes):
    from starlette.requests import Request
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": []})


def test_a_query_model_is_parsed_once_per_query_string_with_fastapis_meaning():
    """FastAPI parsed the ~75 fields of a query model on every request (37 % of a cached request's CPU): the parse
    is kept per raw query string, and means what `Annotated[M, Query()]` meant."""
    import asyncio

    from fastapi.exceptions import RequestValidationError

    from backend.api.querymodels import QueryModel
    from backend.api.schemas import ModelQuery

    parse = QueryModel(ModelQuery)
    first = asyncio.run(parse(_request(b"limit=5&status=done&status=failed&flops_max=2e6&sort=-error")))
    assert asyncio.run(parse(_request(b"limit=5&status=done&status=failed&flops_max=2e6&sort=-error"))) is first
    assert parse._parse.cache_info().hits == 1 and parse._parse.cache_info().misses == 1
    assert (first.limit, first.status, first.flops_max, first.sort) == (5, ["done", "failed"], 2e6, "-error")
    assert asyncio.run(parse(_request(b"limit=7&limit=9"))).limit == 9  # a repeated scalar: the last, as FastAPI
    assert asyncio.run(parse(_request(b"lr_max=0.1"))).extra_ranges == {"lr": [None, 0.1]}  # imported columns
    for query, loc in ((b"limit=0", ("query", "limit")), (b"limt=5", ("query", "limt")),
                       (b"flops_min=5&flops_min=6&nope=1&nope=2", ("query", "nope"))):
        with pytest.raises(RequestValidationError) as e:
            asyncio.run(parse(_request(query)))
        assert [err["loc"] for err in e.value.errors()] == [loc], query


def test_a_bad_query_is_still_a_422_that_names_the_field_and_its_range(shared_sqlite_server):
    c = shared_sqlite_server.client
    sid = c.post("/api/studies", json={"name": "q422", "space": "RegNetX", "n": 2}).json()["id"]
    for _ in range(2):  # the second answer comes from the same parse
        r = c.get(f"/api/studies/{sid}/models", params={"limit": 0})
        assert r.status_code == 422, r.text
        item = r.json()["detail"][0]
        assert item["loc"] == ["query", "limit"] and "[1, 1000]" in item["msg"], item
    ok = c.get(f"/api/studies/{sid}/figures/edf", params={"status": ["done", "queued"]})
    assert ok.status_code == 200, ok.text

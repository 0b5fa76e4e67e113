"""Browsing and downloading a study's models over a real server (SQLite and PostgreSQL): filters, sorting,
pagination with totals, top-k, the population loader, and every export format."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile

import numpy as np
import pytest
import yaml

from backend.designspace.config import AnyNetConfig
from backend.designspace.params import PARAM_NAMES, flat_params
from backend.services.filters import ModelFilter
from backend.services.population import load_population
from db import queue
from db.engine import make_engine

N = 40


def error_of(model_id: int) -> float:
    """A deterministic, scrambled error per model, so that 'best' is not 'first'."""
    return round(10 + (model_id * 7919 % 97) / 3, 3)


@pytest.fixture(scope="module")
def study(live_server):
    """A RegNetX study of N models; 30 trained (results written by a real worker session), 5 failed, 5 queued."""
    c = live_server.client
    s = c.post("/api/studies", json={"name": f"browse-{uuid.uuid4().hex[:6]}", "space": "RegNetX", "n": N,
                                     "regime": {"flops": [None, "60M"]}}).json()
    engine = make_engine(live_server.db_url)
    w = queue.register_worker(engine, "cpu", host="tester")
    done, failed = [], []
    for k in range(35):
        job = queue.claim_job(engine, w, 60, study_id=s["id"])
        if k < 30:
            err = error_of(job.model_id)
            assert queue.complete_job(engine, job.job_id, w, {
                "test_error": [err + 20, err], "train_loss": [2.0, 1.0], "train_error": [60.0, 40.0],
                "train_seconds": 1.5, "infer_ms": job.flops / 1e7, "device": "cpu"})
            done.append(job.model_id)
        else:
            queue.fail_job(engine, job.job_id, w, "boom")  # max_attempts 3: back to queued
            queue.cancel_job(engine, job.job_id)
            failed.append(job.model_id)
    engine.dispose()
    return {"id": s["id"], "name": s["name"], "done": done, "cancelled": failed, "url": live_server.db_url}


def page(c, sid, **params):
    r = c.get(f"/api/studies/{sid}/models", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_pages_sort_and_total(live_server, study):
    c, sid = live_server.client, study["id"]
    everything = page(c, sid, limit=1000)
    assert everything["total"] == N and len(everything["items"]) == N
    first = everything["items"][0]
    assert set(PARAM_NAMES) <= set(first) and first["config"]["type"] == "anynet"
    cfg = AnyNetConfig.model_validate(first["config"])
    assert {k: first[k] for k in PARAM_NAMES} == flat_params(cfg)  # indexed columns agree with the config
    by_flops = page(c, sid, sort="-flops", limit=7, offset=7)
    assert by_flops["total"] == N and len(by_flops["items"]) == 7
    flops_desc = sorted((m["flops"], m["id"]) for m in everything["items"])[::-1]
    assert [m["id"] for m in by_flops["items"]] == [i for _, i in flops_desc[7:14]]
    ids = [m["id"] for k in range(0, N, 15) for m in page(c, sid, limit=15, offset=k, sort="w0")["items"]]
    assert sorted(ids) == sorted(m["id"] for m in everything["items"])  # pages tile the population
    by_error = page(c, sid, sort="error", limit=1000)["items"]
    errors = [m["error"] for m in by_error]
    assert errors[:30] == sorted(errors[:30]) and errors[30:] == [None] * 10  # nulls last
    want = [m["id"] for m in sorted(by_error[:30], key=lambda m: (-m["error"], -m["id"]))]
    want += sorted((m["id"] for m in by_error[30:]), reverse=True)
    for size in (1, 7, 30, 40):  # descending pages tile it too, across the non-null/null boundary, nulls last
        got = [m["id"] for k in range(0, N + size, size) for m in page(c, sid, sort="-error", limit=size,
                                                                       offset=k)["items"]]
        assert got == want, size


def test_filters_and_top(live_server, study):
    c, sid = live_server.client, study["id"]
    items = page(c, sid, limit=1000)["items"]
    mid = sorted(m["flops"] for m in items)[N // 2]
    f = page(c, sid, flops_max=mid, d_min=3, limit=1000)
    want = {m["id"] for m in items if m["flops"] <= mid and m["d"] >= 3}
    assert {m["id"] for m in f["items"]} == want and f["total"] == len(want)
    assert page(c, sid, status="done")["total"] == 30
    assert page(c, sid, status=["cancelled", "queued"])["total"] == 10
    assert page(c, sid, status="done,cancelled")["total"] == 35
    best = sorted((error_of(i), i) for i in study["done"])
    top = page(c, sid, top=5)
    assert top["total"] == 5 and top["sort"] == "error"
    assert [m["id"] for m in top["items"]] == [i for _, i in best[:5]]
    assert [m["error"] for m in top["items"]] == [e for e, _ in best[:5]]
    cap = best[10][0]
    top_cap = page(c, sid, top=3, error_max=cap)
    assert [m["id"] for m in top_cap["items"]] == [i for _, i in best[:3]]
    some = sorted(study["done"])[:4]
    assert {m["id"] for m in page(c, sid, ids=",".join(map(str, some)))["items"]} == set(some)
    assert page(c, sid, error_min=1000)["total"] == 0


def test_bad_filters_are_422_with_the_field(live_server, study):
    c, sid = live_server.client, study["id"]
    for params, field in [({"flops_min": 10, "flops_max": 5}, "flops_max"), ({"d_min": "abc"}, "d_min"),
                          ({"limit": 5000}, "limit"), ({"sort": "config"}, "sort"), ({"sort": "x; drop"}, "sort"),
                          ({"status": "exploded"}, "status"), ({"fancy": 1}, "fancy"), ({"top": 0}, "top"),
                          ({"offset": -1}, "offset"), ({"w0_max": "nan"}, "w0_max")]:
        r = c.get(f"/api/studies/{sid}/models", params=params)
        assert r.status_code == 422, (params, r.text)
        assert field in [d["field"] for d in r.json()["detail"]], (params, r.json())
    r = c.get(f"/api/studies/{sid}/models", params={"limit": 5000})
    assert "[1, 1000]" in r.json()["message"]


def test_one_model_in_full(live_server, study):
    m = live_server.client.get(f"/api/models/{study['done'][0]}").json()
    err = error_of(study["done"][0])
    assert (m["error"], m["error_final"], m["test_error"], m["status"]) == (err, err, [err + 20, err], "done")
    assert m["train_loss"] == [2.0, 1.0] and m["device"] == "cpu" and m["study_id"] == study["id"]
    m = live_server.client.get(f"/api/models/{study['cancelled'][0]}").json()
    assert (m["status"], m["attempts"], m["last_error"]) == ("cancelled", 1, "boom")


def test_population_loader_matches_the_api(live_server, study):
    engine = make_engine(study["url"])
    pop = load_population(engine, study["id"], configs=True)
    assert len(pop) == N and pop["id"].dtype == np.int64 and pop["error"].dtype == np.float64
    assert np.isfinite(pop["error"]).sum() == 30 and pop.with_results().sum() == 30
    items = {m["id"]: m for m in page(live_server.client, study["id"], limit=1000)["items"]}
    for i, mid in enumerate(pop["id"]):
        m = items[int(mid)]
        assert pop["flops"][i] == m["flops"] and pop["status"][i] == m["status"]
        assert (np.isnan(pop["error"][i]) and m["error"] is None) or pop["error"][i] == m["error"]
        assert pop["w0"][i] == m["w0"] and pop.configs[i] == m["config"]
    sub = load_population(engine, study["id"], ModelFilter(status=["done"], top=4))
    assert sorted(sub["error"].tolist()) == sorted(sorted(error_of(i) for i in study["done"])[:4])
    assert sub.configs is None
    engine.dispose()


def download(c, sid, **params):
    r = c.get(f"/api/studies/{sid}/export", params=params)
    assert r.status_code == 200, r.text
    return r


def test_csv_jsonl_json_exports(live_server, study):
    c, sid = live_server.client, study["id"]
    r = download(c, sid, format="csv", status="done", sort="error")
    assert r.headers["content-type"].startswith("text/csv")
    assert f'filename="{study["name"]}-status-done.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    best = sorted((error_of(i), i) for i in study["done"])
    assert [int(x["id"]) for x in rows] == [i for _, i in best]
    assert [float(x["error"]) for x in rows] == [e for e, _ in best]
    cfg = json.loads(rows[0]["config"])
    assert float(rows[0]["w0"]) == cfg["regnet"]["w0"] and float(rows[0]["d"]) == sum(cfg["depths"])
    lines = download(c, sid, format="jsonl", top=3).text.splitlines()
    recs = [json.loads(x) for x in lines]
    assert [x["id"] for x in recs] == [i for _, i in best[:3]]
    assert recs[0]["test_error"] == [best[0][0] + 20, best[0][0]] and recs[0]["config"]["type"] == "anynet"
    whole = download(c, sid, format="json").json()
    assert len(whole) == N and [x["id"] for x in whole] == [m["id"] for m in page(c, sid, limit=1000)["items"]]
    empty = c.get(f"/api/studies/{sid}/export", params={"format": "json", "error_min": 1000})
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "filter"  # never an empty file
    r = c.get(f"/api/studies/{sid}/export", params={"format": "xlsx"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "format"


def test_pycls_zip_and_timm_exports(live_server, study):
    c, sid = live_server.client, study["id"]
    r = download(c, sid, format="pycls", top=4)
    assert r.headers["content-type"] == "application/zip"
    assert f'filename="{study["name"]}-top-4.zip"' in r.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    best = sorted((error_of(i), i) for i in study["done"])[:4]
    assert sorted(z.namelist()) == sorted([*(f"model_{i}.yaml" for _, i in best), "EXPORT_SUMMARY.txt"])
    assert "written: 4 models\nleft out: 0 models" in z.read("EXPORT_SUMMARY.txt").decode()
    for _, i in best:
        y = yaml.safe_load(z.read(f"model_{i}.yaml"))
        m = c.get(f"/api/models/{i}").json()["config"]
        assert y["MODEL"] == {"TYPE": "anynet", "NUM_CLASSES": 10}
        assert (y["ANYNET"]["DEPTHS"], y["ANYNET"]["WIDTHS"], y["ANYNET"]["GROUP_WS"]) == (
            m["depths"], m["widths"], m["group_ws"])
        assert y["ANYNET"]["BOT_MULS"] == m["bot_muls"] and y["ANYNET"]["SE_ON"] is False
        assert y["TRAIN"]["IM_SIZE"] == 32 and y["REGNET"]["WA"] == m["regnet"]["wa"]
    timm = download(c, sid, format="timm", status="done").json()
    assert len(timm) == 30 and set(timm[0]) == {"id", "error", "kwargs"}
    k = timm[0]["kwargs"]
    cfg = c.get(f"/api/models/{timm[0]['id']}").json()["config"]["regnet"]
    assert (k["depth"], k["w0"], k["wa"], k["wm"], k["group_size"], k["bottle_ratio"], k["se_ratio"]) == (
        cfg["depth"], cfg["w0"], cfg["wa"], cfg["wm"], cfg["group_w"], cfg["bot_mul"], 0.0)

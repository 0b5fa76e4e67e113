"""Faults with real processes: the API server restarted while a worker trains (the worker talks to the database,
not the server: every job finishes once), and two API servers writing one SQLite file at the same time (they
cooperate: every write lands once and the file passes PRAGMA integrity_check). The PostgreSQL restart under
workers is tests/test_worker_faults.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import ROOT, LiveServer
from sqlalchemy import text
from test_worker_faults import wait_for

from db.engine import make_engine

pytestmark = pytest.mark.slow
STUDY = {"space": "RegNetX", "dataset": {"name": "digits"}, "recipe": {"epochs": 2, "batch_size": 64},
         "regime": {"flops": [1e6, 4e6]}, "seed": 3}


def jobs_of(client: httpx.Client, study_id: int) -> list[dict]:
    return client.get("/api/jobs", params={"study_id": study_id, "limit": 100}).json()["items"]


def test_api_restart_while_a_worker_trains_loses_nothing(sqlite_url, tmp_path):
    first = LiveServer(sqlite_url, tmp_path)
    log = tmp_path / "worker.log"
    worker = None
    second = None
    try:
        r = first.client.post("/api/studies", json={"name": "restart", "n": 2, **STUDY})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        worker = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker", "--db", sqlite_url, "--device",
                                   "cpu", "--once"], cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
        wait_for(lambda: any(j["status"] == "running" for j in jobs_of(first.client, sid)),
                 120, "a job to run", log=log)
        first.stop()  # the server goes away mid-training
        time.sleep(2)
        assert worker.poll() is None, log.read_text()  # the worker does not care
        second = LiveServer(sqlite_url, tmp_path)
        with second.client.stream("GET", "/api/events", params={"last_id": 0}) as stream:
            assert stream.status_code == 200  # a reconnecting dashboard gets its event stream again
        wait_for(lambda: all(j["status"] == "done" for j in jobs_of(second.client, sid)),
                 240, "every job done", log=log)
        assert worker.wait(60) == 0, log.read_text()
        done = jobs_of(second.client, sid)
        assert len(done) == 2 and all(j["attempts"] <= 1 for j in done), done
        page = second.client.get(f"/api/studies/{sid}/models", params={"limit": 10}).json()
        rows = page["items"]
        assert len(rows) == 2 and all(m["error"] is not None for m in rows), rows
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(30)
        first.stop()
        if second is not None:
            second.stop()


def test_two_servers_on_one_sqlite_file_cooperate(sqlite_url, tmp_path):
    env = {"NETSPACE_MAINTENANCE_SECONDS": "0.2"}  # both servers' maintenance loops write too
    a = LiveServer(sqlite_url, tmp_path, env)
    b = LiveServer(sqlite_url, tmp_path, env)
    try:
        def write(i: int) -> tuple[int, int]:
            srv = (a, b)[i % 2]
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                r = c.post("/api/studies", json={"name": f"both-{i}", "space": "RegNetX", "n": 6, "seed": i})
                if r.status_code != 201:
                    return r.status_code, 0
                r2 = c.post(f"/api/studies/{r.json()['id']}/samples", json={"n": 4, "seed": 1000 + i})
                return r2.status_code, 6 + r2.json().get("queued", 0) if r2.status_code == 201 else 6

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(write, range(24)))
        assert all(code == 201 for code, _ in outcomes), outcomes  # cooperation, not refusal, on one host
        engine = make_engine(sqlite_url)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            studies = conn.execute(text("SELECT count(*) FROM studies")).scalar_one()
            models = conn.execute(text("SELECT count(*) FROM models")).scalar_one()
            jobs = conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()
        engine.dispose()
        assert studies == 24
        assert models == jobs == sum(n for _, n in outcomes)
        listed = {s["name"] for s in a.client.get("/api/studies").json()}
        assert listed == {s["name"] for s in b.client.get("/api/studies").json()} >= {f"both-{i}" for i in range(24)}
    finally:
        a.stop()
        b.stop()

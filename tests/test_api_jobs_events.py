"""Jobs, workers and live events over a real server (SQLite and PostgreSQL). Workers here are other
connections to the same database, as real worker processes are; their changes must reach the SSE stream."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from db import queue
from db.engine import make_engine


@pytest.fixture(scope="module")
def engine(live_server):
    e = make_engine(live_server.db_url)
    yield e
    e.dispose()


def new_study(c, n: int) -> int:
    r = c.post("/api/studies", json={"name": f"jobs-{uuid.uuid4().hex[:8]}", "space": "RegNetX", "n": n})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_jobs_cancel_requeue_and_workers(live_server, engine):
    c = live_server.client
    sid = new_study(c, 4)
    listing = c.get("/api/jobs", params={"study_id": sid}).json()
    assert listing["total"] == 4 and listing["counts"]["queued"] == 4
    ids = [j["id"] for j in listing["items"]]
    w = queue.register_worker(engine, "cuda:0", host="gpu-host", pid=4242)
    running = queue.claim_job(engine, w, 60, study_id=sid)
    workers = {x["id"]: x for x in c.get("/api/workers").json()}
    assert workers[w]["alive"] and workers[w]["status"] == "busy" and workers[w]["current_job_id"] == running.job_id
    assert (workers[w]["host"], workers[w]["pid"], workers[w]["device"]) == ("gpu-host", 4242, "cuda:0")
    r = c.get("/api/jobs", params={"study_id": sid, "status": "running"}).json()
    assert [j["id"] for j in r["items"]] == [running.job_id] and r["items"][0]["worker_id"] == w
    r = c.post(f"/api/jobs/{running.job_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert not queue.heartbeat(engine, running.job_id, w, 60)  # the worker is told to stop
    assert c.post(f"/api/jobs/{running.job_id}/cancel").status_code == 409
    r = c.post(f"/api/jobs/{running.job_id}/requeue", json={"priority": 50})
    assert r.status_code == 200 and (r.json()["status"], r.json()["priority"]) == ("queued", 50)
    again = queue.claim_job(engine, w, 60, study_id=sid)
    assert again.job_id == running.job_id  # priority 50 goes first
    assert queue.complete_job(engine, again.job_id, w, {"test_error": [9.0]})
    r = c.post(f"/api/jobs/{again.job_id}/requeue")
    assert r.status_code == 409 and "done" in r.json()["detail"]
    assert c.post(f"/api/jobs/{ids[-1]}/requeue").status_code == 409  # queued: nothing to requeue
    assert c.post(f"/api/jobs/{again.job_id}/requeue", json={"priority": 1e9}).status_code == 422
    assert c.get("/api/jobs", params={"status": "bogus"}).status_code == 422
    job = c.get(f"/api/jobs/{again.job_id}").json()
    assert job["status"] == "done" and job["study_id"] == sid and job["finished_at"].endswith("Z")
    h = c.get("/api/health").json()
    assert h["queue"]["done"] >= 1 and h["workers_alive"] >= 1


class Stream:
    """Read a server-sent event stream in a thread: .events collects parsed messages."""

    def __init__(self, srv, params=None, headers=None):
        self.events: list[dict] = []
        self.client = httpx.Client(base_url=srv.url, timeout=httpx.Timeout(30, read=60))
        self.cm = self.client.stream("GET", "/api/events", params=params, headers=headers)
        self.resp = self.cm.__enter__()
        assert self.resp.status_code == 200 and self.resp.headers["content-type"].startswith("text/event-stream")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        ev: dict = {}
        try:
            for line in self.resp.iter_lines():
                if line.startswith("id:"):
                    ev["id"] = int(line[3:].strip())
                elif line.startswith("data:"):
                    ev["data"] = json.loads(line[5:].strip())
                elif not line.strip() and ev:
                    self.events.append(ev)
                    ev = {}
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by close()

    def wait_for(self, predicate, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.events):
                return self.events
            time.sleep(0.05)
        raise AssertionError(f"events not seen in {timeout}s: {self.events}")

    def close(self) -> None:
        self.client.close()


def test_events_stream_live_changes_and_resume(live_server, engine):
    c = live_server.client
    sid = new_study(c, 2)
    s = Stream(live_server, params={"study_id": sid})
    try:
        w = queue.register_worker(engine, "cpu")
        j = queue.claim_job(engine, w, 60, study_id=sid)
        queue.record_epoch(engine, j.job_id, w, {"epoch": 0, "test_error": 70.0})
        queue.complete_job(engine, j.job_id, w, {"test_error": [70.0, 61.5]})
        t0 = time.monotonic()
        evs = s.wait_for(lambda e: any(x["data"]["kind"] == "result" for x in e))
        assert time.monotonic() - t0 < 5
        kinds = [(x["data"]["kind"], (x["data"]["payload"] or {}).get("status")) for x in evs]
        assert kinds == [("job", "running"), ("epoch", None), ("job", "done"), ("result", None)]
        assert all(x["data"]["study_id"] == sid and x["data"]["job_id"] == j.job_id for x in evs)
        assert evs[-1]["data"]["payload"]["error"] == 61.5 and evs[1]["data"]["payload"]["metrics"]["epoch"] == 0
        assert [x["id"] for x in evs] == sorted(x["id"] for x in evs)
        last = evs[-1]["id"]
    finally:
        s.close()
    # while nobody listens: a cancel through the API and a deletion
    other = new_study(c, 1)
    job2 = c.get("/api/jobs", params={"study_id": sid, "status": "queued"}).json()["items"][0]["id"]
    c.post(f"/api/jobs/{job2}/cancel")
    c.delete(f"/api/studies/{other}", params={"confirm": "true"})
    resumed = Stream(live_server, headers={"Last-Event-ID": str(last)})
    try:
        evs = resumed.wait_for(lambda e: any(x["data"]["kind"] == "study_deleted" for x in e))
        evs = [x for x in evs if x["data"]["study_id"] in (sid, other)]  # the server may be shared
        kinds = [x["data"]["kind"] for x in evs]
        assert kinds[:4] == ["study_created", "jobs_queued", "job", "study_deleted"]
        assert evs[0]["id"] > last and evs[2]["data"]["payload"]["status"] == "cancelled"
    finally:
        resumed.close()


def test_expired_leases_are_requeued_by_the_server_itself(server_factory, sqlite_url):
    """Even with no worker left alive, the server's maintenance task returns expired jobs to the queue."""
    srv = server_factory(sqlite_url, NETSPACE_MAINTENANCE_SECONDS="0.5")
    sid = new_study(srv.client, 1)
    e = make_engine(sqlite_url)
    w = queue.register_worker(e, "cpu")
    j = queue.claim_job(e, w, 0.2)
    e.dispose()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        job = srv.client.get(f"/api/jobs/{j.job_id}").json()
        if job["status"] == "queued":
            break
        time.sleep(0.25)
    assert (job["status"], job["attempts"]) == ("queued", 1) and "lease expired" in job["last_error"]
    assert srv.client.get("/api/studies").json()[0]["id"] == sid

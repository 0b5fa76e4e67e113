"""End to end with real processes: `netspace serve` (local workers by default) on SQLite trains 4 samples
queued through the API; three workers on PostgreSQL train 12 jobs, each exactly once. Real training on digits
(1 epoch, tiny). The digits are upsampled to 16 px, not the default 32: what these tests prove is the queue, and at
16 px a job costs a quarter of the CPU (~0.4 s of training instead of ~1.5 s for these RegNetX sizes)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
from conftest import KEEPALIVE, ROOT, free_port, wait_http

pytestmark = pytest.mark.slow
STUDY = {"space": "RegNetX", "dataset": {"name": "digits"}, "recipe": {"epochs": 1, "batch_size": 64},
         "regime": {"flops": ["250k", "1M"]}, "im_size": 16, "seed": 3}


def wait_done(client: httpx.Client, study_id: int, n: int, timeout: float, log) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        study = client.get(f"/api/studies/{study_id}").json()
        jobs = study["counts"]["jobs"]
        if jobs.get("done", 0) == n:
            return study
        assert jobs.get("failed", 0) == 0, (study, log())
        time.sleep(1.0)
    raise AssertionError(f"not all {n} jobs finished in {timeout}s: {study['counts']}\n{log()}")


def check_results(client: httpx.Client, study_id: int, n: int) -> None:
    page = client.get(f"/api/studies/{study_id}/models", params={"limit": 100}).json()
    assert page["total"] == n
    for m in page["items"]:
        assert m["status"] == "done" and m["epochs_done"] == 1 and m["attempts"] == 0
        assert 0 <= m["error"] <= 100 and m["error"] == m["error_final"]
        assert m["train_seconds"] > 0 and m["infer_ms"] > 0 and 250e3 <= m["flops"] <= 1e6


def test_serve_with_a_local_worker_trains_samples_queued_through_the_api(tmp_path):
    port = free_port()
    log_path = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--db", f"sqlite:///{tmp_path / 'e2e.db'}",
                             "--port", str(port)], cwd=ROOT, stdout=log_path.open("w"),
                            stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", 120, proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=KEEPALIVE) as c:
            created = c.post("/api/studies", json={**STUDY, "name": "served", "n": 4})
            assert created.status_code == 201, created.text
            sid = created.json()["id"]
            wait_done(c, sid, 4, 400, log_path.read_text)
            check_results(c, sid, 4)
            workers = c.get("/api/workers").json()
            assert any(w["status"] in ("idle", "busy") for w in (workers["items"] if isinstance(workers, dict)
                                                                 else workers))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 0, log_path.read_text()[-3000:]
    assert re.search(r"^\d+ local workers? started", log_path.read_text(), re.M)  # by default on a local database
    # the local worker stopped with the server
    left = subprocess.run(["pgrep", "-f", f"worker --db sqlite:///{tmp_path}"], capture_output=True, text=True)
    assert left.stdout.strip() == "", left.stdout


@pytest.mark.postgres
def test_three_workers_on_postgresql_train_twelve_jobs_once_each(pg_server, tmp_path):
    c = pg_server.client
    created = c.post("/api/studies", json={**STUDY, "name": "fleet", "n": 12})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    log_path = tmp_path / "workers.log"
    workers = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker", "--db", pg_server.db_url,
                                "--device", "cpu", "--per-device", "3", "--once", "--study", str(sid)],
                               cwd=ROOT, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    try:
        assert workers.wait(600) == 0, log_path.read_text()[-3000:]
    finally:
        if workers.poll() is None:
            workers.kill()
    wait_done(c, sid, 12, 30, log_path.read_text)
    check_results(c, sid, 12)
    log = log_path.read_text()
    assert log.count(" done: error ") == 12  # each job trained exactly once across the three processes
    assert len(set(re.findall(r"INFO worker (\S+) on cpu", log))) == 3


def test_serve_demo_seeds_two_studies_once(tmp_path):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    for attempt in range(2):  # a second start finds the demo and adds nothing
        port = free_port()
        log_path = tmp_path / f"demo{attempt}.log"
        proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--db", db, "--port", str(port),
                                 "--demo", "--workers", "0"], cwd=ROOT, stdout=log_path.open("w"),
                                stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/api/health", 120, proc)
            studies = httpx.get(f"http://127.0.0.1:{port}/api/studies", timeout=30).json()
            items = studies["items"] if isinstance(studies, dict) else studies
            assert sorted(s["space_name"] for s in items) == ["AnyNetX_A", "RegNetX"]
            assert all(s["counts"]["models"] == 24 for s in items)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
    assert "demo studies exist already" in log_path.read_text()
    assert "no local workers (--workers 0)" in log_path.read_text()


@pytest.mark.slow
def test_auto_starts_one_single_threaded_cpu_worker_per_core(tmp_path):
    """Without a GPU, `serve --workers auto` (the default on a local database) starts one CPU worker per core,
    each on one thread: small CPU-scale models train faster side by side than one at a time on threads."""
    from backend.cli.server_cmds import start_local_workers, stop_local_workers
    from backend.services.jobs import count_alive
    from db.engine import make_engine
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'auto.db'}"
    engine = make_engine(url)
    upgrade(engine)
    cores = min(len(os.sched_getaffinity(0)), 8)
    procs = start_local_workers(url, "auto")
    try:
        assert len(procs) == cores
        deadline = time.monotonic() + 120
        while count_alive(engine) < cores and time.monotonic() < deadline:
            time.sleep(0.5)
        assert count_alive(engine) == cores
        threads = {_environ(p.pid).get("OMP_NUM_THREADS") for p in procs}
        assert threads == ({"1"} if cores > 1 else {os.environ.get("OMP_NUM_THREADS")})
    finally:
        stop_local_workers(procs)
        engine.dispose()


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)

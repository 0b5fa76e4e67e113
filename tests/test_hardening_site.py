"""Issue 18, items 3, 6 and 7 against real servers: cross-site writes and foreign Host names are refused even
with no token set (CSRF, DNS rebinding); the event stream opens with a short-lived ticket and no credential
reaches the access log; a server reachable from other machines will not start without a token."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx
from conftest import ROOT, free_port, wait_http
from sqlalchemy import select

from db import queue
from db.engine import make_engine
from db.models import jobs

EVIL = {"Origin": "http://evil.example", "Content-Type": "text/plain"}


def _job_states(db_url: str) -> list[tuple[int, str]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(jobs.c.id, jobs.c.status).order_by(jobs.c.id)).all()]
    finally:
        engine.dispose()


def test_cross_site_writes_are_refused_without_a_token(server_factory, sqlite_url):
    srv = server_factory(sqlite_url)
    c = srv.client
    study = c.post("/api/studies", json={"name": "csrf", "space": "RegNetX", "n": 3,
                                         "regime": {"flops": [None, "5M"]}})  # no Origin: curl, the CLI
    assert study.status_code == 201, study.text
    engine = make_engine(sqlite_url)
    wid = queue.register_worker(engine, "cpu")
    failed = queue.claim_job(engine, wid, 60)
    queue.fail_job(engine, failed.job_id, wid, "boom")
    engine.dispose()
    first = _job_states(sqlite_url)[0][0]
    before = _job_states(sqlite_url)
    studies_before = c.get("/api/studies").json()
    attacks = [("post", f"/api/jobs/{first}/cancel", {}), ("post", f"/api/jobs/{first}/requeue", {}),
               ("post", "/api/demo", {}), ("delete", f"/api/studies/{study.json()['id']}?confirm=true", {}),
               ("post", "/api/studies/import", {"files": {"file": ("x.jsonl", b'{"config": {}}\n')},
                                                "data": {"study": "planted"}})]
    for method, path, extra in attacks:
        for headers in (EVIL, {"Origin": "null"}, {"Origin": "http://127.0.0.1.evil.example:" + str(srv.port)}):
            r = c.request(method, path, headers=headers, **(extra or {"content": b"{}"}))
            assert r.status_code == 403, (method, path, headers, r.text)
            assert r.json()["field"] == "origin" and headers["Origin"] in r.json()["detail"]
        r = c.request(method, path, headers={"Sec-Fetch-Site": "cross-site"})  # a browser that sends no Origin
        assert r.status_code == 403, (method, path, r.text)
    assert _job_states(sqlite_url) == before and c.get("/api/studies").json() == studies_before
    # the dashboard itself: a same-origin fetch sends its own Origin (or none) and goes through
    r = c.post(f"/api/jobs/{first}/cancel", headers={"Origin": srv.url, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200, r.text
    r = c.post("/api/studies", headers={"Origin": srv.url.replace("127.0.0.1", "localhost")},
               json={"name": "x", "space": "RegNetX"})  # Origin and Host are the same site (both localhost)...
    assert r.status_code == 403  # ... only when they name the same host: here Host is 127.0.0.1
    r = c.post(f"/api/jobs/{first}/requeue", headers={"Origin": srv.url}, json={})
    assert r.status_code == 200, r.text


def test_foreign_host_names_are_refused_dns_rebinding(server_factory, sqlite_url):
    srv = server_factory(sqlite_url, NETSPACE_ALLOWED_HOSTS="dash.example, other.example")
    c = srv.client
    for host in ("evil.example", f"evil.example:{srv.port}", "127.0.0.1.nip.io", "bad host"):
        for path in ("/api/studies", "/", "/api/health"):
            r = c.get(path, headers={"Host": host})
            assert r.status_code == 400, (host, path, r.text)
        assert c.post("/api/demo", headers={"Host": host}).status_code == 400
    assert c.get("/api/studies").json() == []  # nothing was seeded
    for host in (f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", f"[::1]:{srv.port}", "10.1.2.3",
                 "dash.example", f"DASH.example:{srv.port}", "other.example."):
        assert c.get("/api/studies", headers={"Host": host}).status_code == 200, host
    # a configured name is this server: a write from a page served under it is same-site
    r = c.post("/api/studies", headers={"Host": "dash.example", "Origin": "https://dash.example"},
               json={"name": "named", "space": "RegNetX", "n": 1, "regime": {"flops": [None, "5M"]}})
    assert r.status_code == 201, r.text


def test_with_a_token_the_token_is_the_guard(server_factory, sqlite_url):
    """A request holding the valid token is no forgery (a page that has it is trusted); one without it is refused
    (403 from another site) and writes nothing."""
    token = "tok-" + uuid.uuid4().hex
    srv = server_factory(sqlite_url, NETSPACE_TOKEN=token)
    c = srv.client
    body = {"name": "from-elsewhere", "space": "RegNetX", "n": 1, "regime": {"flops": [None, "5M"]}}
    assert c.post("/api/studies", headers={"Origin": "http://evil.example"}, json=body).status_code == 403
    assert c.post("/api/studies", json=body).status_code == 401
    assert c.get("/api/studies").json() == []
    r = c.post("/api/studies", headers={"Origin": "http://dash.example", "Authorization": f"Bearer {token}"},
               json=body)
    assert r.status_code == 201, r.text


def test_event_stream_uses_a_ticket_and_no_credential_reaches_the_log(server_factory, sqlite_url):
    write, read = f"write-{uuid.uuid4().hex}", f"read-{uuid.uuid4().hex}"
    srv = server_factory(sqlite_url, log_level="info", NETSPACE_TOKEN=write, NETSPACE_READ_TOKEN=read)
    c = srv.client
    assert c.post("/api/events/ticket").status_code == 401
    assert c.post("/api/events/ticket", headers={"Authorization": "Bearer nope"}).status_code == 401
    tickets = []
    for tok in (read, write):
        r = c.post("/api/events/ticket", headers={"Authorization": f"Bearer {tok}", "Origin": srv.url})
        assert r.status_code == 200, r.text
        assert r.json()["expires_in"] == 60
        tickets.append(r.json()["ticket"])
    ticket = tickets[0]
    assert c.get("/api/events").status_code == 401
    with c.stream("GET", "/api/events", params={"ticket": ticket}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    expiry, _, mac = ticket.partition(".")
    forged = [f"{int(expiry) + 3600}.{mac}", f"{expiry}.{'0' * len(mac)}", f"100.{mac}", "", "x.y"]
    for bad in forged:
        assert c.get("/api/events", params={"ticket": bad}).status_code == 401, bad
    # a ticket opens the event stream and nothing else
    assert c.get("/api/studies", params={"ticket": ticket}).status_code == 401
    assert c.post("/api/demo", params={"ticket": ticket}).status_code == 401
    with c.stream("GET", "/api/events", params={"token": read}) as r:  # an old client's ?token= still reads
        assert r.status_code == 200
    assert c.get("/api/studies", params={"token": write, "limit": 5}).status_code in (200, 422)
    log = srv.log
    assert "/api/events?ticket=***" in log and "token=***" in log, log[-2000:]
    for secret in (write, read, *tickets):
        assert secret not in log, "a credential reached the access log"


def test_serve_on_a_public_address_needs_a_token_or_insecure(tmp_path):
    db = f"sqlite:///{tmp_path / 'exposed.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETSPACE_")}
    cmd = [sys.executable, "-m", "backend.cli", "serve", "--db", db, "--host", "0.0.0.0", "--log-level", "warning",
           "--workers", "0"]
    r = subprocess.run([*cmd, "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60,
                       cwd=ROOT)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "NETSPACE_TOKEN" in lines[0] and "--insecure" in lines[0], r.stderr
    assert not (tmp_path / "exposed.db").exists()  # refused before touching anything
    port = free_port()
    proc = subprocess.Popen([*cmd, "--port", str(port), "--insecure"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", 60, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert "WARNING: serving 0.0.0.0 WITHOUT A TOKEN" in out

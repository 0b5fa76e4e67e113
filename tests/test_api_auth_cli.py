"""Tokens on every write route (and reads when asked), CORS, the front-end files, and `netspace serve/export`."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
from conftest import ROOT, free_port, wait_http

from db import queue
from db.engine import make_engine

NETSPACE = [sys.executable, "-m", "backend.cli"]
WRITE_METHODS = {"post", "put", "patch", "delete"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def state(c, token: str) -> tuple:
    h = {"Authorization": f"Bearer {token}"}
    studies = c.get("/api/studies", headers=h).json()
    jobs = c.get("/api/jobs", headers=h).json()
    return [(s["id"], s["counts"]["models"]) for s in studies], jobs["counts"]


def test_every_write_route_needs_the_token_and_writes_nothing_without_it(server_factory, sqlite_url):
    srv = server_factory(sqlite_url, NETSPACE_TOKEN="s3cret")
    c = srv.client
    ok = {"Authorization": "Bearer s3cret"}
    r = c.post("/api/studies", json={"name": "guarded", "space": "RegNetX", "n": 2}, headers=ok)
    assert r.status_code == 201, r.text
    before = state(c, "s3cret")
    writes = [(m, concrete(p)) for p, ops in c.get("/openapi.json").json()["paths"].items()
              for m in ops if m in WRITE_METHODS]
    assert {("post", "/api/studies"), ("delete", "/api/studies/1"), ("post", "/api/studies/1/samples"),
            ("post", "/api/jobs/1/cancel"), ("post", "/api/jobs/1/requeue")} <= set(writes)
    bodies = {"/api/studies": {"name": "x", "space": "RegNetX"}, "/api/studies/1/samples": {"n": 1}}
    for method, path in writes:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            r = c.request(method, path + ("?confirm=true" if method == "delete" else ""),
                          json=bodies.get(path), headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
        r = c.post(path + "?token=s3cret", json=bodies.get(path)) if method == "post" else None
        assert r is None or r.status_code == 401  # the query token is for reads only
    assert state(c, "s3cret") == before
    assert c.get("/api/studies").status_code == 200  # reads stay open
    assert c.post("/api/jobs/1/cancel", headers=ok).status_code == 200
    assert c.delete("/api/studies/1?confirm=true", headers=ok).status_code == 200


def test_read_token_guards_reads_but_not_health(server_factory, sqlite_url):
    srv = server_factory(sqlite_url, NETSPACE_TOKEN="w", NETSPACE_READ_TOKEN="r")
    c = srv.client
    assert c.get("/api/health").status_code == 200
    for path in ("/api/studies", "/api/jobs", "/api/workers", "/api/spaces", "/api/events"):
        assert c.get(path).status_code == 401, path
    assert c.get("/api/studies", headers={"Authorization": "Bearer r"}).status_code == 200
    assert c.get("/api/studies", headers={"Authorization": "Bearer w"}).status_code == 200
    assert c.get("/api/studies", params={"token": "r"}).status_code == 200  # EventSource / download links
    assert c.post("/api/studies", json={"name": "x", "space": "RegNetX"},
                  headers={"Authorization": "Bearer r"}).status_code == 401  # read token cannot write
    with c.stream("GET", "/api/events", params={"token": "r"}) as r:
        assert r.status_code == 200
    assert c.get("/").status_code == 200  # the page itself, so a token can be entered


def test_cors_is_off_by_default_and_on_when_configured(server_factory, sqlite_url, shared_sqlite_server):
    r = shared_sqlite_server.client.get("/api/health", headers={"Origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in r.headers
    srv = server_factory(sqlite_url, NETSPACE_CORS_ORIGINS="http://dash.example")
    r = srv.client.options("/api/studies", headers={"Origin": "http://dash.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert r.headers["access-control-allow-origin"] == "http://dash.example"
    r = srv.client.get("/api/health", headers={"Origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in r.headers  # only the configured origin


def test_front_end_and_bundled_plotly(shared_sqlite_server):
    c = shared_sqlite_server.client
    index = ROOT / "frontend" / "index.html"
    r = c.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    if index.exists():
        assert r.text == index.read_text()
        some = next(p for p in (ROOT / "frontend").rglob("*.js"))
        s = c.get("/static/" + some.relative_to(ROOT / "frontend").as_posix())
        assert s.status_code == 200 and s.content == some.read_bytes()
    js = c.get("/static/vendor/plotly.min.js")  # httpx asks for gzip and decodes it
    assert js.status_code == 200 and len(js.content) > 1_000_000 and b"plotly.js" in js.content[:2000]
    assert js.headers["content-encoding"] == "gzip" and int(js.headers["content-length"]) < len(js.content) / 2
    plain = c.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == js.content
    assert c.get("/static/no/such/file.js").status_code == 404


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*NETSPACE, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_cli_export_writes_what_the_api_serves(shared_sqlite_server, tmp_path):
    srv = shared_sqlite_server
    c = srv.client
    s = c.post("/api/studies", json={"name": "cli study", "space": "RegNetX", "n": 12}).json()
    engine = make_engine(srv.db_url)
    w = queue.register_worker(engine, "cpu")
    for k in range(6):
        j = queue.claim_job(engine, w, 60, study_id=s["id"])
        queue.complete_job(engine, j.job_id, w, {"test_error": [30.0 - k]})
    engine.dispose()
    api = c.get(f"/api/studies/{s['id']}/export", params={"format": "csv", "top": 3, "flops_max": 1e12})
    out = tmp_path / "best.csv"
    r = run_cli("export", "--db", srv.db_url, "--study", "cli study", "--format", "csv",
                "--top", "3", "-f", "flops_max=1000G", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == api.content and len(out.read_text().splitlines()) == 4
    assert "cli_study-flops_max-1e+12_top-3.csv" in r.stderr
    r = run_cli("export", "--db", srv.db_url, "--study", str(s["id"]), "--format", "jsonl")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 12
    for args, text in [(("--study", "nope"), "no study named 'nope'"),
                       (("--study", "cli study", "-f", "d_min=9", "-f", "d_max=1"), "d_max: must be >= d_min"),
                       (("--study", "cli study", "--sort", "secret"), "sort: unknown column")]:
        r = run_cli("export", "--db", srv.db_url, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], (args, r.stderr)
    r = run_cli("export", "--db", f"sqlite:///{tmp_path / 'missing.db'}", "--study", "x")
    assert r.returncode == 2 and "no database" in r.stderr and not (tmp_path / "missing.db").exists()


def test_serve_starts_local_workers_by_default_only_on_a_local_database():
    from backend.cli.server_cmds import is_local_database, worker_plan

    for url in ("sqlite:///x.db", "postgresql+psycopg://u@127.0.0.1/db", "postgresql+psycopg://u@localhost:5433/db",
                "postgresql+psycopg:///db", "postgresql+psycopg://u@/db?host=/var/run/postgresql"):
        assert is_local_database(url), url
        assert worker_plan(url, None) == ("auto", None)
    remote = "postgresql+psycopg://u:secret@db.example.org/db"
    assert not is_local_database(remote)
    start, line = worker_plan(remote, None)
    assert start == "0" and "another host" in line and "--workers auto" in line and "secret" not in line
    assert worker_plan(remote, "2") == ("2", None)
    start, line = worker_plan("sqlite:///x.db", "0")
    assert start == "0" and line.startswith("no local workers (--workers 0)") and "netspace worker --db" in line


def test_cli_serve_starts_uvicorn_on_the_given_port(tmp_path):
    port = free_port()
    db = f"sqlite:///{tmp_path / 'served.db'}"
    proc = subprocess.Popen([*NETSPACE, "serve", "--db", db, "--port", str(port), "--log-level", "warning",
                             "--workers", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", 60, proc)
        h = httpx.get(f"http://127.0.0.1:{port}/api/health").json()
        assert h["database"] == "sqlite" and (tmp_path / "served.db").exists()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert f"netspace on http://127.0.0.1:{port}" in out
    # --workers 0 says so, once, with what to run instead
    said = [line for line in out.splitlines() if "no local workers" in line]
    assert len(said) == 1 and "--workers 0" in said[0] and f"netspace worker --db {db}" in said[0], out
    r = run_cli("serve", "--port", "70000")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "--port" in r.stderr and "65535" in r.stderr
    r = run_cli("serve", "--db", f"sqlite:///{tmp_path / 'never.db'}", "--workers", "many")
    assert r.returncode == 2 and r.stderr.strip() == "error: workers: must be auto or a number 0..256, got 'many'"
    assert not (tmp_path / "never.db").exists()  # refused before migrating


def test_gzipped_plotly_is_kept_in_the_cache_folder(tmp_path, monkeypatch):
    """Each server start read back the gzip the first one wrote (compressing costs ~0.2 s of CPU a start)."""
    import gzip

    from backend.api.routes.frontend import plotly_gzip, plotly_js

    source = plotly_js()
    assert source is not None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    plotly_gzip.cache_clear()
    try:
        data = plotly_gzip()
        (kept,) = (tmp_path / "netspace" / "plotly").iterdir()
        assert kept.read_bytes() == data and gzip.decompress(data) == source.read_bytes()
        other = gzip.compress(source.read_bytes(), compresslevel=1, mtime=0)  # the same file, other bytes
        kept.write_bytes(other)
        plotly_gzip.cache_clear()
        assert plotly_gzip() == other  # read back, not compressed again
        kept.write_bytes(other[: len(other) // 2])  # a damaged file is replaced
        plotly_gzip.cache_clear()
        assert plotly_gzip() == data and kept.read_bytes() == data
        monkeypatch.setenv("XDG_CACHE_HOME", str(kept))  # a file where the folder should be: nothing is kept
        plotly_gzip.cache_clear()
        assert plotly_gzip() == data
    finally:
        plotly_gzip.cache_clear()

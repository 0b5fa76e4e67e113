"""Write token on every write route, enumerated from the app's own routing table (not the OpenAPI document, so
a route hidden from the schema, or added later, cannot escape): refused without the token, nothing written;
let through with it. Complements tests/test_api_auth_cli.py (schema-listed routes, read token, CORS)."""

from __future__ import annotations

import re

from conftest import LiveServer
from sqlalchemy import text

from backend.api.app import create_app
from backend.api.settings import Settings
from db.engine import make_engine

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
TABLES = ("studies", "models", "jobs", "results", "events")


def _routes(routes) -> list[tuple[str, set[str]]]:
    """(path, methods) of every HTTP route, looking inside included routers (FastAPI >= 0.165 nests them)."""
    out = []
    for r in routes:
        if hasattr(r, "effective_candidates"):
            out += [(c.path, set(c.methods or ())) for c in r.effective_candidates()]
        elif hasattr(r, "methods"):
            out.append((r.path, set(r.methods or ())))
        elif hasattr(r, "routes"):  # a mounted router
            out += [(getattr(r, "path", "") + p, m) for p, m in _routes(r.routes)]
    return out


def write_routes(tmp_path) -> list[tuple[str, str]]:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'routes.db'}", migrate=False))
    return sorted((m, p) for p, methods in _routes(app.routes) for m in methods & WRITE_METHODS)


def test_every_write_route_is_guarded_and_opens_with_the_token(tmp_path):
    routes = write_routes(tmp_path)
    assert len(routes) >= 10 and ("POST", "/api/studies") in routes and ("DELETE", "/api/studies/{study_id}") in routes
    # the token middleware guards /api: a write route elsewhere would be open to anyone
    assert [p for _, p in routes if not p.startswith("/api/")] == []
    url = f"sqlite:///{tmp_path / 'netspace.db'}"
    srv = LiveServer(url, tmp_path, {"NETSPACE_TOKEN": "t0ken"})
    engine = make_engine(url)
    try:
        ok = {"Authorization": "Bearer t0ken"}
        r = srv.client.post("/api/studies", json={"name": "guarded", "space": "RegNetX", "n": 2}, headers=ok)
        assert r.status_code == 201, r.text

        def counts() -> dict[str, int]:
            with engine.connect() as conn:
                return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}

        before = counts()
        for method, path in routes:
            url_path = re.sub(r"\{[^}]+\}", "1", path)
            for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dDBrZW4="}):
                r = srv.client.request(method, url_path, json={}, headers=headers)
                assert r.status_code == 401, (method, path, headers, r.text)
        assert counts() == before
        for method, path in routes:  # with the token the request reaches its route (which may then refuse it)
            if (method, path) == ("DELETE", "/api/studies/{study_id}"):
                continue  # checked last, for real
            r = srv.client.request(method, re.sub(r"\{[^}]+\}", "1", path), json={}, headers=ok)
            assert r.status_code != 401 and r.status_code < 500, (method, path, r.text)
        r = srv.client.delete("/api/studies/1", params={"confirm": "true"}, headers=ok)
        assert r.status_code == 200, r.text
    finally:
        engine.dispose()
        srv.stop()

"""Markdown notes on studies and models over a real uvicorn server, on SQLite and PostgreSQL: revisions kept
with author and time (newest first), 422s naming the field, 404s, cascade with the study, and the author
"token <fingerprint>" when the server has a write token."""

from __future__ import annotations

import hashlib
import uuid

import sqlalchemy as sa

from backend.services.notes import MAX_NOTE_CHARS
from db.engine import make_engine
from db.models import note_revisions


def _study(c) -> dict:
    r = c.post("/api/studies", json={"name": f"notes-{uuid.uuid4().hex[:8]}", "space": "RegNetX", "n": 2})
    assert r.status_code == 201, r.text
    return r.json()


def test_study_note_history_newest_first_with_author(live_server):
    c = live_server.client
    s = _study(c)
    empty = c.get(f"/api/studies/{s['id']}/notes").json()
    assert empty == {"target": "study", "id": s["id"], "current": None, "history": [], "revisions": 0}
    texts = ["# First\nwide **b** looks better", "second <script>alert(1)</script> kept as typed", ""]
    for t in texts:
        r = c.put(f"/api/studies/{s['id']}/notes", json={"text": t})
        assert r.status_code == 200, r.text
    doc = c.get(f"/api/studies/{s['id']}/notes").json()
    assert doc["revisions"] == 3 and [h["text"] for h in doc["history"]] == texts[::-1]
    assert doc["current"] == doc["history"][0] and doc["current"]["text"] == ""  # cleared, as a revision
    assert {h["author"] for h in doc["history"]} == {"local"}
    times = [h["created_at"] for h in doc["history"]]
    assert all(t.endswith("Z") for t in times) and times == sorted(times, reverse=True)
    ids = [h["id"] for h in doc["history"]]
    assert ids == sorted(ids, reverse=True)


def test_model_notes_are_separate_from_the_study_and_go_with_it(live_server):
    c = live_server.client
    s = _study(c)
    mid = c.get(f"/api/studies/{s['id']}/models").json()["items"][0]["id"]
    assert c.put(f"/api/models/{mid}/notes", json={"text": "odd curve at epoch 3"}).status_code == 200
    assert c.put(f"/api/studies/{s['id']}/notes", json={"text": "study note"}).status_code == 200
    m = c.get(f"/api/models/{mid}/notes").json()
    assert (m["target"], m["id"], m["current"]["text"], m["revisions"]) == ("model", mid, "odd curve at epoch 3", 1)
    assert c.get(f"/api/studies/{s['id']}/notes").json()["revisions"] == 1
    assert c.delete(f"/api/studies/{s['id']}", params={"confirm": True}).status_code in (200, 204)
    engine = make_engine(live_server.db_url)
    try:
        with engine.connect() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(note_revisions)
                                .where(sa.or_(note_revisions.c.study_id == s["id"],
                                              note_revisions.c.model_id == mid))).scalar_one()
    finally:
        engine.dispose()
    assert left == 0
    r = c.get(f"/api/models/{mid}/notes")
    assert r.status_code == 404 and r.json()["field"] == "model_id"


def test_bad_notes_are_422s_naming_the_field(live_server):
    c = live_server.client
    s = _study(c)
    before = c.get(f"/api/studies/{s['id']}/notes").json()["revisions"]
    cases = [({}, "text"), ({"text": 3}, "text"), ({"text": "x" * (MAX_NOTE_CHARS + 1)}, "text"),
             ({"text": "ok", "author": "me"}, "author")]
    for payload, field in cases:
        r = c.put(f"/api/studies/{s['id']}/notes", json=payload)
        assert r.status_code == 422, (payload, r.text)
        assert [d["field"] for d in r.json()["detail"]] == [field], r.text
    too_long = c.put(f"/api/studies/{s['id']}/notes", json={"text": "x" * (MAX_NOTE_CHARS + 1)}).json()["detail"][0]
    assert str(MAX_NOTE_CHARS) in too_long["msg"].replace(",", "")
    r = c.put("/api/studies/0/notes", json={"text": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "study_id"
    r = c.put("/api/studies/999999999/notes", json={"text": "x"})
    assert r.status_code == 404 and r.json()["field"] == "study_id"
    assert c.get(f"/api/studies/{s['id']}/notes").json()["revisions"] == before  # nothing written


def test_the_author_is_the_write_tokens_fingerprint(server_factory, sqlite_url):
    srv = server_factory(sqlite_url, NETSPACE_TOKEN="s3cret-token")
    c = srv.client
    c.headers["Authorization"] = "Bearer s3cret-token"
    s = _study(c)
    doc = c.put(f"/api/studies/{s['id']}/notes", json={"text": "signed"}).json()
    assert doc["current"]["author"] == "token " + hashlib.sha256(b"s3cret-token").hexdigest()[:8]
    c.headers.pop("Authorization")
    assert c.put(f"/api/studies/{s['id']}/notes", json={"text": "anon"}).status_code == 401

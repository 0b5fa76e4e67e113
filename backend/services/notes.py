"""Markdown notes on a study or on a model, with their history.

A note is stored as revisions (db table note_revisions, migration 0010): saving appends one row with the
text, who saved it and when, so the current note is the newest revision and nothing is ever overwritten. The
author is what the server can vouch for: with a write token set (every write carries it), "token <first 8 hex
digits of its SHA-256>", else "local". The text is kept as typed; the dashboard renders it as Markdown without
ever interpreting HTML (frontend/js/markdown.js).
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from sqlalchemy import Connection, Engine, func, select

from db.engine import write_tx
from db.models import models, note_revisions, studies, utcnow

from .errors import InvalidInput, NotFound

Target = Literal["study", "model"]
#: a note's longest text (characters): a page of Markdown, not a data store
MAX_NOTE_CHARS = 100_000
#: revisions returned with a note (newest first); older ones are counted
MAX_HISTORY = 200
_COLUMN = {"study": note_revisions.c.study_id, "model": note_revisions.c.model_id}
_TABLE = {"study": studies, "model": models}


def author_of(token: str | None) -> str:
    """Who saved a note, as far as the server knows: the write token's fingerprint, or "local" without one."""
    if not token:
        return "local"
    return "token " + hashlib.sha256(token.encode()).hexdigest()[:8]


def _require(conn: Connection, target: Target, target_id: int) -> None:
    """NotFound (field `<target>_id`) unless the study or model exists."""
    table = _TABLE[target]
    if conn.execute(select(table.c.id).where(table.c.id == target_id)).first() is None:
        raise NotFound(f"{target} {target_id} not found", f"{target}_id")


def _revision(row: Any) -> dict[str, Any]:
    return {"id": row.id, "text": row.text, "author": row.author, "created_at": row.created_at.isoformat() + "Z"}


def get_notes(engine: Engine, target: Target, target_id: int) -> dict[str, Any]:
    """{target, id, current (newest revision or None), history (newest first), revisions (count)}."""
    col = _COLUMN[target]
    with engine.connect() as conn:
        _require(conn, target, target_id)
        rows = conn.execute(select(note_revisions).where(col == target_id).order_by(note_revisions.c.id.desc())
                            .limit(MAX_HISTORY)).all()
        count = len(rows)
        if count == MAX_HISTORY:
            count = int(conn.execute(select(func.count()).where(col == target_id)).scalar_one())
    history = [_revision(r) for r in rows]
    return {"target": target, "id": target_id, "current": history[0] if history else None, "history": history,
            "revisions": count}


def save_note(engine: Engine, target: Target, target_id: int, text: str, author: str) -> dict[str, Any]:
    """Append a revision of the note (an empty text clears it, as a revision too); returns get_notes()."""
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"at most {MAX_NOTE_CHARS:,} characters, got {len(text):,}", "text",
                           f"0..{MAX_NOTE_CHARS} characters")
    col = _COLUMN[target]
    with write_tx(engine) as conn:  # SQLite's write lock from BEGIN: the check and the insert cannot interleave
        _require(conn, target, target_id)
        conn.execute(note_revisions.insert().values({col.name: target_id, "text": text, "author": author,
                                                     "created_at": utcnow()}))
    return get_notes(engine, target, target_id)

"""Markdown notes on studies and models, with their history (backend.services.notes).

    GET /api/studies/{id}/notes     {"current": revision | null, "history": [newest first], "revisions": n}
    PUT /api/studies/{id}/notes     {"text": "markdown"} -> the same document, with the new revision first
    GET/PUT /api/models/{id}/notes  the same for a model

The author of a revision is the write token's fingerprint when the server has one, else "local".
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from backend.services.ids import RowId
from backend.services.notes import MAX_NOTE_CHARS, author_of, get_notes, save_note
from backend.services.views import Notes

from .. import deps
from ..settings import Settings
from .studies import StudyId

router = APIRouter(tags=["notes"])
ModelId = Annotated[RowId, Path(description="model id")]


class NoteIn(BaseModel):
    """A new revision of a note: its whole Markdown text ("" clears the note, kept in the history)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_NOTE_CHARS, description="Markdown; HTML in it is shown as text")


@router.get("/api/studies/{study_id}/notes")
def study_notes(study_id: StudyId, engine: Engine = Depends(deps.engine)) -> Notes:
    return Notes.model_validate(get_notes(engine, "study", study_id))


@router.put("/api/studies/{study_id}/notes")
def save_study_note(study_id: StudyId, body: NoteIn = Body(), engine: Engine = Depends(deps.engine),
                    settings: Settings = Depends(deps.settings)) -> Notes:
    return Notes.model_validate(save_note(engine, "study", study_id, body.text, author_of(settings.token)))


@router.get("/api/models/{model_id}/notes")
def model_notes(model_id: ModelId, engine: Engine = Depends(deps.engine)) -> Notes:
    return Notes.model_validate(get_notes(engine, "model", model_id))


@router.put("/api/models/{model_id}/notes")
def save_model_note(model_id: ModelId, body: NoteIn = Body(), engine: Engine = Depends(deps.engine),
                    settings: Settings = Depends(deps.settings)) -> Notes:
    return Notes.model_validate(save_note(engine, "model", model_id, body.text, author_of(settings.token)))

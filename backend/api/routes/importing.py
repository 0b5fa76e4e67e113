"""`POST /api/studies/import` (multipart): upload a trained population as a new study.

Form fields: `file` (NDS .json, pycls sweep.json, or our .jsonl/.csv/.json/.parquet export), `study` (the new
study's name), `format` (auto or an import format of GET /api/formats), `skip_bad` (true: skip and count
bad records). Bad input answers 422 naming the record and field ("record 12: min_test_top1: missing");
a taken name 409; the import itself is one transaction, so a failed request leaves nothing behind.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile, status
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from backend.fielderrors import FieldError, as_field_errors
from backend.importers import IMPORT_FORMATS, RecordError
from backend.services.derived import fill_in_background
from backend.services.importing import import_file
from backend.services.views import ImportSummary

from .. import deps
from ..errors import field_errors_response
from ..settings import Settings

router = APIRouter(tags=["studies"])
CHUNK = 1 << 20


def _read(upload: UploadFile, max_bytes: int) -> bytes:
    """The whole upload, refusing (413) anything over max_bytes (NETSPACE_MAX_UPLOAD_MB, default 512 MiB: 3x the
    100,000-run NDS benchmark file; parsed JSON takes ~6x its size in memory) without buffering it all first."""
    parts, size = [], 0
    while block := upload.file.read(CHUNK):
        size += len(block)
        if size > max_bytes:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                                f"file: larger than {max_bytes >> 20} MiB (NETSPACE_MAX_UPLOAD_MB)")
        parts.append(block)
    return b"".join(parts)


def _bad_file(e: ValueError) -> JSONResponse:
    """The 422 of a file the importers refuse: their InvalidFields name `file` (or `format`); a record's error
    also names the record and its key."""
    extra = {"record": e.label, "record_field": e.key} if isinstance(e, RecordError) else {}
    errors = [FieldError(f.field, " ".join(f.message.split()), f.allowed) for f in as_field_errors(e, "file")]
    return field_errors_response(errors, "body", **extra)


@router.post("/api/studies/import", status_code=status.HTTP_201_CREATED, response_model=ImportSummary)
def import_study(
    file: Annotated[UploadFile, File(description="the population file")],
    study: Annotated[str, Form(min_length=1, max_length=200, description="name of the new study")],
    format: Annotated[str, Form(pattern=f"^(auto|{'|'.join(IMPORT_FORMATS.names())})$",  # the API's field name
                                description=f"auto | {' | '.join(IMPORT_FORMATS.entries())}")] = "auto",
    skip_bad: Annotated[bool, Form(description="skip bad records (counted) instead of failing")] = False,
    engine: Engine = Depends(deps.engine),
    settings: Settings = Depends(deps.settings),
) -> ImportSummary | JSONResponse:
    """Import every run of the uploaded file as one new study (source 'imported'); returns the summary."""
    data = _read(file, settings.max_upload_mb << 20)
    try:
        out = import_file(engine, data, file.filename, study, fmt=format, skip_bad=skip_bad, source=file.filename)
    except ValueError as e:  # the file's or a record's fault (service errors are not ValueErrors)
        return _bad_file(e)
    fill_in_background(engine, out.study_id)  # e_fit stored before anyone asks for it (services.derived)
    return out

"""Streaming exports of a study's (filtered) models, in any format of the export registry (backend.exporters).

Rows are read with a server-side cursor in batches — dicts with the per-epoch curves for formats that read
"records", the CSV's flat columns as tuples (CSV_COLUMNS) for those that read "flat" — handed to the format's
writer and coalesced into ~64 KiB chunks, so that a 100,000-row export streams fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case, select

from backend.designspace.exports import config_text, csv_columns
from backend.exporters import EXPORT_FORMATS, ExportFormat
from db.rawsql import driver_rows, json_value

from .errors import InvalidInput
from .filters import ModelFilter, filtered
from .models_query import BASE_COLUMNS, CURVE_COLUMNS, ROW_COLUMNS, ordered, records, require_study

BATCH = 2000
CHUNK = 1 << 16
_BY_KEY = {c.key: c for c in ROW_COLUMNS}
#: the CSV's columns (exports.csv_columns) as SQL, in order; the flags spelled as Python writes a bool
_FLAGS = ("diverged", "did_not_learn")
CSV_COLUMNS = tuple(
    case((_BY_KEY[name].is_(None), None), (_BY_KEY[name], "True"), else_="False").label(name)
    if name in _FLAGS else _BY_KEY[name] for name in csv_columns())


@dataclass
class Export:
    """A download: `chunks` (bytes, lazily read from the database), its media type and file name."""

    chunks: Iterator[bytes]
    media_type: str
    filename: str


def export_filename(study_name: str, flt: ModelFilter | None, fmt: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", study_name).strip("_") or "study"
    return f"{base}-{flt.slug() if flt else 'all'}.{EXPORT_FORMATS.get(fmt).extension}"


def export_format(fmt: str) -> ExportFormat:
    """The export format called `fmt`; an InvalidInput naming `format` and the allowed names otherwise."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"must be one of {', '.join(EXPORT_FORMATS.entries())} (got {fmt!r})", "format")
    return EXPORT_FORMATS.get(fmt)


def export(engine: Engine, study_id: int, flt: ModelFilter | None, fmt: str, sort: str | None = None) -> Export:
    """Check the study and format now (errors before any byte is sent); stream rows when iterated."""
    entry = export_format(fmt)
    with engine.connect() as conn:
        study = require_study(conn, study_id)
    rows: Iterable[Any]
    if entry.reads == "flat":  # the flat parameters as columns; records carry the curves instead
        rows = _csv_rows(engine, ordered(filtered(select(*CSV_COLUMNS), study_id, flt), sort, flt))
    else:
        rows = _records(engine, ordered(filtered(select(*BASE_COLUMNS, *CURVE_COLUMNS), study_id, flt), sort, flt))
    return Export(_coalesce(entry.write(rows, study)), entry.media_type,
                  export_filename(study["name"], flt, fmt))


def _csv_rows(engine: Engine, q) -> Iterator[tuple]:
    """CSV_COLUMNS rows straight off the driver's cursor: no dicts, only the config re-written canonically."""
    with engine.connect() as conn:
        for batch in driver_rows(conn, q, stream=True):
            for row in batch:
                yield (*row[:-1], config_text(json_value(row[-1])))


def _records(engine: Engine, q) -> Iterator[dict[str, Any]]:
    with engine.connect() as conn:
        yield from records(conn, q, stream=True)


def _coalesce(parts: Iterable[str | bytes]) -> Iterator[bytes]:
    """Join many small pieces into ~CHUNK-sized byte blocks (one network write each)."""
    buf: list[bytes] = []
    size = 0
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        buf.append(b)
        size += len(b)
        if size >= CHUNK:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)

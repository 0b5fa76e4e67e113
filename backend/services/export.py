"""Streaming exports of a study's (filtered) models, in any format of the export registry (backend.exporters).

Rows are read in batches — dicts with the per-epoch curves (a server-side cursor) for formats that read "records",
the CSV's flat columns (CSV_COLUMNS) as Arrow column batches (db.rawsql.arrow_batches) for those that read "flat" —
handed to the format's writer and coalesced into ~64 KiB chunks, so that a 10^6-row export streams fast.
"""

from __future__ import annotations

import functools
import gc
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, case, func, select

from backend.designspace.exports import config_text, csv_columns
from backend.exporters import EXPORT_FORMATS, ExportFormat
from db.models import models
from db.rawsql import arrow_batches, driver_rows, json_value

from .columns import load_columns
from .errors import InvalidInput
from .filters import ModelFilter, filtered
from .models_query import BASE_COLUMNS, CURVE_COLUMNS, ROW_COLUMNS, ordered, records, require_study
from .population import check_extra_ranges

BATCH = 2000
T = TypeVar("T")
CHUNK = 1 << 16
_BY_KEY = {c.key: c for c in ROW_COLUMNS}
#: the CSV's columns (exports.csv_columns) as SQL, in order; the flags spelled as Python writes a bool
_FLAGS = ("diverged", "did_not_learn")
CSV_COLUMNS = tuple(
    case((_BY_KEY[name].is_(None), None), (_BY_KEY[name], "True"), else_="False").label(name)
    if name in _FLAGS else _BY_KEY[name] for name in csv_columns())


def csv_select(extras: list[str]) -> tuple[Any, ...]:
    """What the CSV export reads: CSV_COLUMNS but the config, then the stored config text, the config itself only
    where that text is missing (null otherwise: nothing to send), and models.extra when the study has extra
    columns."""
    missing = case((models.c.config_text.is_(None), models.c.config), else_=None).label("config_missing")
    return (*CSV_COLUMNS[:-1], models.c.config_text, missing, *([models.c.extra] if extras else []))


@dataclass
class Export:
    """A download: `chunks` (bytes, lazily read from the database), its media type and file name."""

    chunks: Iterator[bytes]
    media_type: str
    filename: str
    #: what was written and left out (X-Netspace-Exported, X-Netspace-Left-Out, X-Netspace-Left-Out-Reasons)
    headers: dict[str, str] = field(default_factory=dict)


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
    check_extra_ranges(engine, [study_id], flt)
    written, left_out = _plan(engine, study_id, flt, entry)
    rows: Iterable[Any]
    if entry.reads == "flat":  # the flat parameters as columns; records carry the curves instead
        extras = load_columns(engine, study_id).extra_names
        study = {**study, "extra_columns": extras}
        rows = _csv_batches(engine, ordered(filtered(select(*csv_select(extras)), study_id, flt), sort, flt), extras,
                            written)
    else:
        rows = _records(engine, ordered(filtered(select(*BASE_COLUMNS, *CURVE_COLUMNS), study_id, flt), sort, flt))
    headers = {"X-Netspace-Exported": str(written), "X-Netspace-Left-Out": str(sum(left_out.values()))}
    if left_out:
        headers["X-Netspace-Left-Out-Reasons"] = "; ".join(
            f"{n} {reason}" for reason, n in left_out.most_common()).encode("ascii", "replace").decode()[:2000]
    return Export(_coalesce(entry.write(rows, study)), entry.media_type,
                  export_filename(study["name"], flt, fmt), headers)


def _plan(engine: Engine, study_id: int, flt: ModelFilter | None, entry: ExportFormat) -> tuple[int, Counter[str]]:
    """(models the format will write, models it leaves out by reason), counted before any byte is sent; an
    InvalidInput when it would write none (an empty file says nothing: the filter or the format is wrong)."""
    left_out: Counter[str] = Counter()
    with engine.connect() as conn:
        if entry.selective:
            total = 0
            q = filtered(select(models.c.arch_type, models.c.config), study_id, flt)
            for batch in driver_rows(conn, q):
                for arch_type, config in batch:
                    total += 1
                    why = entry.leave_out({"arch_type": arch_type, "config": json_value(config)})
                    if why is not None:
                        left_out[why] += 1
        else:
            total = int(conn.execute(filtered(select(func.count()), study_id, flt)).scalar_one())
    if total == 0:
        raise InvalidInput("no model passes the filter: there is nothing to export", "filter")
    written = total - sum(left_out.values())
    if written == 0:
        reasons = "; ".join(f"{n} {reason}" for reason, n in left_out.most_common())
        raise InvalidInput(f"none of the {total} models can be written as {entry.label}: {reasons}", "format")
    return written, left_out


def _csv_batches(engine: Engine, q, extras: list[str], rows: int) -> Iterator[list[Any]]:
    """The CSV's columns as batches of Arrow arrays (db.rawsql.arrow_batches: no Python object per value), with
    the config as its stored canonical text (models.config_text, migration 0011) and the study's extra columns
    (`extras`, from models.extra) put before it. Only two things still go through Python, a row at a time: a
    config without stored text (a row restored from an older archive: decoded and re-encoded, as the export
    always did) and the extra columns of imported studies (a JSON object per row)."""
    n_lead = len(CSV_COLUMNS) - 1
    for batch in arrow_batches(engine, q, rows):
        yield _gc_paused(functools.partial(_csv_columns, batch, n_lead, extras))


def _csv_columns(batch: Any, n_lead: int, extras: list[str]) -> list[Any]:
    cols = batch.columns
    text, missing = cols[n_lead], cols[n_lead + 1]
    if missing.null_count < len(missing):  # rows without config_text: the config, canonicalised here
        text = [t if m is None else config_text(json_value(m))
                for t, m in zip(text.to_pylist(), missing.to_pylist(), strict=True)]
    out: list[Any] = list(cols[:n_lead])
    if extras:
        extra = [(json_value(e) or {}) for e in cols[n_lead + 2].to_pylist()]
        out += [[e.get(name) for e in extra] for name in extras]
    return [*out, text]


def _gc_paused(fn: Callable[[], T]) -> T:
    """fn() with the cyclic garbage collector paused (it stays paused if another thread paused it)."""
    was = gc.isenabled()
    gc.disable()
    try:
        return fn()
    finally:
        if was:
            gc.enable()


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

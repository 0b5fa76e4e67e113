"""Streaming exports of a study's (filtered) models: json, jsonl, csv, pycls (zip of YAML), timm (RegNet kwargs).

Rows are read with a server-side cursor in batches and written with backend.designspace.exports (the same
writers as the CLI and importer), then coalesced into ~64 KiB chunks so that a 100,000-row CSV streams fast.
JSON/JSONL rows carry the per-epoch curves; CSV rows the flat parameters, read in column order (CSV_COLUMNS).
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, case, select

from backend.designspace.config import AnyNetConfig
from backend.designspace.exports import config_text, csv_columns, csv_table, jsonl_lines, pycls_yaml, timm_kwargs
from db.rawsql import driver_rows, json_value

from .errors import InvalidInput
from .filters import ModelFilter, filtered
from .models_query import BASE_COLUMNS, CURVE_COLUMNS, ROW_COLUMNS, ordered, records, require_study

FORMATS: dict[str, tuple[str, str]] = {  # format -> (media type, file extension)
    "json": ("application/json", "json"),
    "jsonl": ("application/x-ndjson", "jsonl"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "pycls": ("application/zip", "zip"),
    "timm": ("application/json", "timm.json"),
}
BATCH = 2000
CHUNK = 1 << 16
_BY_KEY = {c.key: c for c in ROW_COLUMNS}
#: the CSV's columns (exports.csv_columns) as SQL, in order; `diverged` spelled as Python writes a bool
CSV_COLUMNS = tuple(
    case((_BY_KEY["diverged"].is_(None), None), (_BY_KEY["diverged"], "True"), else_="False").label("diverged")
    if name == "diverged" else _BY_KEY[name] for name in csv_columns())


@dataclass
class Export:
    """A download: `chunks` (bytes, lazily read from the database), its media type and file name."""

    chunks: Iterator[bytes]
    media_type: str
    filename: str


def export_filename(study_name: str, flt: ModelFilter | None, fmt: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", study_name).strip("_") or "study"
    return f"{base}-{flt.slug() if flt else 'all'}.{FORMATS[fmt][1]}"


def export(engine: Engine, study_id: int, flt: ModelFilter | None, fmt: str, sort: str | None = None) -> Export:
    """Check the study and format now (errors before any byte is sent); stream rows when iterated."""
    if fmt not in FORMATS:
        raise InvalidInput(f"must be one of {', '.join(FORMATS)} (got {fmt!r})", "format")
    with engine.connect() as conn:
        study = require_study(conn, study_id)
    if fmt == "csv":  # the flat parameters as columns; JSON rows carry the curves instead
        q = ordered(filtered(select(*CSV_COLUMNS), study_id, flt), sort, flt)
        body: Iterable[str | bytes] = csv_table(csv_columns(), _csv_rows(engine, q))
        return Export(_coalesce(body), FORMATS[fmt][0], export_filename(study["name"], flt, fmt))
    rows = _records(engine, ordered(filtered(select(*BASE_COLUMNS, *CURVE_COLUMNS), study_id, flt), sort, flt))
    if fmt == "jsonl":
        body = jsonl_lines(rows)
    elif fmt == "json":
        body = _json_array(rows)
    elif fmt == "timm":
        body = _json_array(_timm(rows))
    else:
        body = _zip(rows, study)
    media, _ = FORMATS[fmt]
    return Export(_coalesce(body), media, export_filename(study["name"], flt, fmt))


def _csv_rows(engine: Engine, q) -> Iterator[tuple]:
    """CSV_COLUMNS rows straight off the driver's cursor: no dicts, only the config re-written canonically."""
    with engine.connect() as conn:
        for batch in driver_rows(conn, q, stream=True):
            for row in batch:
                yield (*row[:-1], config_text(json_value(row[-1])))


def _records(engine: Engine, q) -> Iterator[dict[str, Any]]:
    with engine.connect() as conn:
        yield from records(conn, q, stream=True)


def _json_array(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield "["
    sep = ""
    for r in records:
        yield sep + json.dumps(r, separators=(",", ":"))
        sep = ","
    yield "]\n"


def _timm(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """RegNet models only: {id, error, kwargs} with timm RegNetCfg keyword arguments."""
    for r in records:
        if r["arch_type"] != "anynet":
            continue
        kw = timm_kwargs(AnyNetConfig.model_validate(r["config"]))
        if kw is not None:
            yield {"id": r["id"], "error": r["error"], "kwargs": kw}


def _zip(records: Iterable[dict[str, Any]], study: dict[str, Any]) -> Iterator[bytes]:
    """One pycls YAML per AnyNet model (model_<id>.yaml), zipped into a spooled file, then streamed."""
    with tempfile.SpooledTemporaryFile(max_size=32 << 20) as f:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            for r in records:
                if r["arch_type"] != "anynet":
                    continue
                desc = f"netspace study {study['name']} model {r['id']}"
                if r["error"] is not None:
                    desc += f", top-1 error {r['error']:.2f}%"
                text = pycls_yaml(AnyNetConfig.model_validate(r["config"]), study["im_size"],
                                  study["num_classes"], desc)
                z.writestr(f"model_{r['id']}.yaml", text)
        f.seek(0)
        while block := f.read(CHUNK):
            yield block


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

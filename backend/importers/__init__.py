"""Importers: NDS files, pycls sweep.json and our own JSONL/CSV/JSON/Parquet exports -> a normalised Population.

Pure parsing (designspace, the stdlib, orjson; pyarrow for Parquet): no database, no web framework. The formats
are a registry (`IMPORT_FORMATS`, one module each in formats/). `parse_file` is the one entry point for a whole
file in one process (`plan_file` + `run_plan`; the importing service also converts a
plan's records in worker processes, see `parallel`); it raises `ImportFormatError` (file-level) or
`RecordError` (names the record and field), both ValueErrors, or with `skip_bad` counts bad records in
`Population.skipped` instead.
"""

from __future__ import annotations

from .formats import IMPORT_FORMATS, ImportFormat, detect
from .records import (
    BadRecord,
    ImportFormatError,
    ModelRecord,
    Plan,
    Population,
    RecordError,
    ResultRecord,
    gc_paused,
    run_plan,
)
from .source import SplitMismatch, as_text


def plan_file(data: bytes | str, filename: str | None = None, fmt: str = "auto", *,
              split_min_chars: int | None = None) -> Plan:
    """Read one file's content as far as finding its records; `filename` matters for NDS (ImageNet vs
    CIFAR) and auto-detection. `fmt` is an import format's name (backend.importers.formats) or "auto". File-level
    faults raise here; record-level ones when records convert.

    A JSON list of at least `split_min_chars` characters (None: never) is not parsed here but element by
    element as its records convert (source.split_list), so that worker processes share the parsing; that
    plan's conversion raises SplitMismatch if the file turns out not to split as guessed, and the caller
    then plans the file again without splitting."""
    if not (data.strip() if isinstance(data, str) else data.strip(b"\xef\xbb\xbf \t\r\n")):
        raise ImportFormatError("file", "empty")
    if fmt == "auto":
        fmt = detect(data, filename)
    if fmt not in IMPORT_FORMATS:
        raise ImportFormatError("format", f"must be auto or one of {', '.join(IMPORT_FORMATS.entries())}, "
                                f"got {fmt!r}")
    entry = IMPORT_FORMATS.get(fmt)
    content = data if entry.binary else as_text(data)
    split = split_min_chars is not None and entry.splittable and len(content) >= split_min_chars
    with gc_paused():
        return entry.plan(content, filename, split=split)


def parse_file(data: bytes | str, filename: str | None = None, fmt: str = "auto", *,
               skip_bad: bool = False) -> Population:
    """Parse one file's content into a Population, in this process."""
    plan = plan_file(data, filename, fmt)
    with gc_paused():
        return run_plan(plan, skip_bad)


__all__ = ["IMPORT_FORMATS", "BadRecord", "ImportFormat", "ImportFormatError", "ModelRecord", "Plan", "Population",
           "RecordError", "ResultRecord", "SplitMismatch", "detect", "gc_paused", "parse_file", "plan_file", "run_plan"]

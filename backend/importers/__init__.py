"""Importers: NDS files, pycls sweep.json and our own JSONL/CSV/JSON exports -> a normalised Population.

Pure parsing (designspace + stdlib only): no database, no web framework. `parse_file` is the one entry
point for a whole file in one process (`plan_file` + `run_plan`; the importing service also converts a
plan's records in worker processes, see `parallel`); it raises `ImportFormatError` (file-level) or
`RecordError` (names the record and field), both ValueErrors, or with `skip_bad` counts bad records in
`Population.skipped` instead.
"""

from __future__ import annotations

from collections.abc import Callable

from . import nds, ours, pycls_sweep
from .detect import FORMATS, detect
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

PLANNERS: dict[str, Callable[..., Plan]] = {  # (text, filename[, split=True])
    "nds": nds.plan,
    "pycls-sweep": pycls_sweep.plan,
    "jsonl": ours.plan_jsonl,
    "csv": ours.plan_csv,
    "json": ours.plan_json,
}
#: formats whose records are the elements of one JSON list, which can be parsed element by element
SPLITTABLE = ("nds", "json")


def plan_file(data: bytes | str, filename: str | None = None, fmt: str = "auto", *,
              split_min_chars: int | None = None) -> Plan:
    """Read one file's content as far as finding its records; `filename` matters for NDS (ImageNet vs
    CIFAR) and auto-detection. File-level faults raise here; record-level ones when records convert.

    A JSON list of at least `split_min_chars` characters (None: never) is not parsed here but element by
    element as its records convert (source.split_list), so that worker processes share the parsing; that
    plan's conversion raises SplitMismatch if the file turns out not to split as guessed, and the caller
    then plans the file again without splitting."""
    text = as_text(data)
    if not text.strip():
        raise ImportFormatError("file", "empty")
    if fmt == "auto":
        fmt = detect(text, filename)
    if fmt not in PLANNERS:
        raise ImportFormatError("format", f"must be auto or one of {', '.join(FORMATS)}, got {fmt!r}")
    split = split_min_chars is not None and len(text) >= split_min_chars and fmt in SPLITTABLE
    with gc_paused():
        return PLANNERS[fmt](text, filename, split=True) if split else PLANNERS[fmt](text, filename)


def parse_file(data: bytes | str, filename: str | None = None, fmt: str = "auto", *,
               skip_bad: bool = False) -> Population:
    """Parse one file's content into a Population, in this process."""
    plan = plan_file(data, filename, fmt)
    with gc_paused():
        return run_plan(plan, skip_bad)


__all__ = ["FORMATS", "BadRecord", "ImportFormatError", "ModelRecord", "Plan", "Population", "RecordError",
           "ResultRecord", "SplitMismatch", "detect", "gc_paused", "parse_file", "plan_file", "run_plan"]

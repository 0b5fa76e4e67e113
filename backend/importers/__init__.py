"""Importers: NDS files, pycls sweep.json and our own JSONL/CSV/JSON exports -> a normalised Population.

Pure parsing (designspace + stdlib only): no database, no web framework. `parse_file` is the one entry
point the CLI, the API and the importing service use; it raises `ImportFormatError` (file-level) or
`RecordError` (names the record and field), both ValueErrors, or with `skip_bad` counts bad records in
`Population.skipped` instead.
"""

from __future__ import annotations

from collections.abc import Callable

from . import nds, ours, pycls_sweep
from .detect import FORMATS, detect
from .records import BadRecord, ImportFormatError, ModelRecord, Population, RecordError, ResultRecord, gc_paused
from .source import as_text

PARSERS: dict[str, Callable[..., Population]] = {
    "nds": nds.parse,
    "pycls-sweep": pycls_sweep.parse,
    "jsonl": ours.parse_jsonl,
    "csv": ours.parse_csv,
    "json": ours.parse_json,
}


def parse_file(data: bytes | str, filename: str | None = None, fmt: str = "auto", *,
               skip_bad: bool = False) -> Population:
    """Parse one file's content; `filename` matters for NDS (ImageNet vs CIFAR) and auto-detection."""
    text = as_text(data)
    if not text.strip():
        raise ImportFormatError("file: empty")
    if fmt == "auto":
        fmt = detect(text, filename)
    if fmt not in PARSERS:
        raise ImportFormatError(f"format: must be auto or one of {', '.join(FORMATS)}, got {fmt!r}")
    with gc_paused():
        return PARSERS[fmt](text, filename, skip_bad=skip_bad)


__all__ = ["FORMATS", "BadRecord", "ImportFormatError", "ModelRecord", "Population", "RecordError",
           "ResultRecord", "detect", "gc_paused", "parse_file"]

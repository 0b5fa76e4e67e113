"""JSON lines: one model record per line, curves included (the "jsonl" import format reads it back)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backend.designspace.exports import jsonl_lines

from . import ExportFormat


class Jsonl(ExportFormat):
    name = "jsonl"
    label = "JSONL"
    help = "one model record per line (the JSON export's records), for streaming tools"
    order = 10
    media_type = "application/x-ndjson"
    extension = "jsonl"

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        return jsonl_lines(rows)


FORMAT = Jsonl()

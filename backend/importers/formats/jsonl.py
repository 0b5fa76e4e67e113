"""Our JSON-lines export (one model record per line, curves included) read back; the reader is
backend.importers.ours."""

from __future__ import annotations

from .. import ours
from ..records import Plan
from ..source import as_text
from . import ImportFormat, Sniff, has


class Jsonl(ImportFormat):
    name = "jsonl"
    label = "JSON lines (netspace export)"
    help = "one model record per line, as GET /api/studies/{id}/export?format=jsonl writes"
    order = 20
    detect_order = 5  # a first line that is a whole record with a config: before the list formats look
    suffixes = (".jsonl", ".ndjson")

    def detect(self, s: Sniff) -> bool:
        return has(s.head, "config") and not has(s.head, "cfg", "net", "min_test_top1")

    def plan(self, data: str | bytes, filename: str | None, *, split: bool = False) -> Plan:
        return ours.plan_jsonl(as_text(data), filename)


FORMAT = Jsonl()

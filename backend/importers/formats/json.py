"""Our JSON export read back: a list of model records, or the API's object holding them under "models"; the
reader is backend.importers.ours."""

from __future__ import annotations

from .. import ours
from ..records import Plan
from ..source import as_text
from . import ImportFormat, Sniff, has


class Json(ImportFormat):
    name = "json"
    label = "JSON (netspace export)"
    help = "a JSON list of model records (or {\"models\": [...]}), as the JSON export writes"
    order = 40
    detect_order = 30
    splittable = True

    def detect(self, s: Sniff) -> bool:
        return (has(s.first, "config") or has(s.lists_first, "config")
                or (isinstance(s.head, dict) and isinstance(s.head.get("models"), list)))

    def plan(self, data: str | bytes, filename: str | None, *, split: bool = False) -> Plan:
        return ours.plan_json(as_text(data), filename, split=split)


FORMAT = Json()

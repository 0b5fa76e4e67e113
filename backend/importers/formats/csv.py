"""Our CSV export (flat parameters as columns, the config as a JSON cell) read back; the reader is
backend.importers.ours."""

from __future__ import annotations

from .. import ours
from ..records import Plan
from ..source import as_text
from . import ImportFormat, Sniff


class Csv(ImportFormat):
    name = "csv"
    label = "CSV (netspace export)"
    help = "a header row, then one model per row with its config as a JSON cell, as the CSV export writes"
    order = 30
    detect_order = 60
    suffixes = (".csv",)

    def detect(self, s: Sniff) -> bool:
        return s.opening == "text" and s.suffix != ".json" and s.first_line[:1].isalpha() and "," in s.first_line

    def plan(self, data: str | bytes, filename: str | None, *, split: bool = False) -> Plan:
        return ours.plan_csv(as_text(data), filename)

FORMAT = Csv()

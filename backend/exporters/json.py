"""JSON: one array of model records, curves included (backend.importers' "json" format reads it back)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import ExportFormat, json_array


class Json(ExportFormat):
    name = "json"
    label = "JSON"
    help = "an array of model records: config, complexity, result and per-epoch curves"
    order = 0
    media_type = "application/json"
    extension = "json"

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        return json_array(rows)


FORMAT = Json()

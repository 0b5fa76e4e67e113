"""Our Parquet export read back: one row per model, typed columns (numbers, booleans, the curves as lists of
doubles), the config and extra as JSON text (backend.exporters.parquet writes it). Rows convert exactly as our
JSON records do, so a study exported and imported again is the same population."""

from __future__ import annotations

import json
from typing import Any

from ..ours import convert_record, plan_records
from ..records import ImportFormatError, ModelRecord, Plan, RecordError
from . import ImportFormat, Sniff

#: columns written as JSON text (a Parquet column has one type; configs differ between architectures)
JSON_TEXT = ("config", "extra")
MAGIC = b"PAR1"


def convert_row(row: Any, label: str, index: int) -> ModelRecord:
    """One Parquet row as a model record: its JSON-text columns decoded, then read as our JSON records are."""
    if isinstance(row, dict):
        for key in JSON_TEXT:
            if isinstance(row.get(key), str):
                try:
                    row[key] = json.loads(row[key])
                except json.JSONDecodeError as e:
                    raise RecordError(label, key, f"malformed JSON: {e.msg} at column {e.colno}") from None
    return convert_record(row, label, index)


class Parquet(ImportFormat):
    name = "parquet"
    label = "Parquet (netspace export)"
    help = "Apache Parquet, one row per model, as the Parquet export writes (config and extra as JSON text)"
    order = 50
    detect_order = 0  # its magic bytes say so whatever else the file holds
    suffixes = (".parquet", ".pq")
    binary = True

    def detect(self, s: Sniff) -> bool:
        return s.magic == MAGIC

    def plan(self, data: str | bytes, filename: str | None, *, split: bool = False) -> Plan:
        import pyarrow as pa  # only Parquet imports pay for loading Arrow
        import pyarrow.parquet as pq

        if isinstance(data, str):
            raise ImportFormatError("file", "a Parquet file is binary data, not text")
        try:
            table = pq.read_table(pa.BufferReader(data))
        except (pa.ArrowException, OSError) as e:
            raise ImportFormatError("file", f"not a readable Parquet file ({' '.join(str(e).split())[:200]})") from None
        rows = table.to_pylist()
        return plan_records(self.name, [(str(i), r) for i, r in enumerate(rows)], convert_row)


FORMAT = Parquet()

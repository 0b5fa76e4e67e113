"""CSV: the flat parameters as columns and the config as a JSON cell, no curves (the "csv" import format reads it
back). Rows come straight off the database cursor in csv_columns() order (services/export.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from backend.designspace.exports import csv_columns, csv_table

from . import ExportFormat


class Csv(ExportFormat):
    name = "csv"
    label = "CSV"
    help = ("one row per model: complexity, result, every flat parameter, the study's imported columns (lr, wd, "
            "...) and the config as JSON (no curves)")
    order = 20
    media_type = "text/csv; charset=utf-8"
    extension = "csv"
    reads = "flat"

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        cols = csv_columns()  # the study's imported (extra) columns go before the config
        return csv_table([*cols[:-1], *study.get("extra_columns", ()), cols[-1]], rows)


FORMAT = Csv()

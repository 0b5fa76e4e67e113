"""Parquet: the JSON export's records as one typed table (Apache Parquet, zstd-compressed), for pandas, polars,
DuckDB or Spark; the "parquet" import format reads it back to the same population.

Numbers, flags and names are typed columns, the curves lists of doubles; config and extra are JSON text (a
Parquet column has one type, and configs differ between architectures). Rows are written in row groups of
BATCH as they come, into a spooled file (a Parquet file is complete only at its footer), then streamed; an
empty selection is a valid file with the schema and no rows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from backend.designspace.exports import config_text

from . import ExportFormat, spooled

#: the records' keys and their Arrow types (what services.models_query's BASE_COLUMNS + CURVE_COLUMNS give)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "int64"), ("index", "int64"), ("name", "string"), ("arch_type", "string"), ("status", "string"),
    ("error", "float64"), ("error_final", "float64"), ("diverged", "bool"), ("flops", "int64"),
    ("params", "int64"), ("acts", "int64"), ("train_seconds", "float64"), ("infer_ms", "float64"),
    ("epochs_done", "int64"), ("job_id", "int64"), ("attempts", "int64"), ("extra", "json"), ("config", "json"),
    ("train_loss", "curve"), ("train_error", "curve"), ("test_error", "curve"),
)
BATCH = 5000


def _schema() -> Any:
    import pyarrow as pa  # only Parquet exports pay for loading Arrow

    kinds = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": pa.string(),
             "json": pa.string(), "curve": pa.list_(pa.float64())}
    return pa.schema([(name, kinds[kind]) for name, kind in COLUMNS])


def _column(rows: list[Mapping[str, Any]], name: str, kind: str) -> list[Any]:
    if name == "config":
        return [None if r.get(name) is None else config_text(r[name]) for r in rows]
    if kind == "json":
        return [None if r.get(name) is None else json.dumps(r[name], sort_keys=True, separators=(",", ":"))
                for r in rows]
    return [r.get(name) for r in rows]


class Parquet(ExportFormat):
    name = "parquet"
    label = "Parquet"
    help = "the JSON export's records as one typed Parquet table (config and extra as JSON text)"
    order = 25
    media_type = "application/vnd.apache.parquet"
    extension = "parquet"
    binary = True

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        def write_table(f: IO[bytes]) -> None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = _schema()
            it = iter(rows)
            with pq.ParquetWriter(f, schema, compression="zstd") as w:
                while batch := list(itertools.islice(it, BATCH)):
                    w.write_table(pa.table({n: _column(batch, n, k) for n, k in COLUMNS}, schema=schema))

        return spooled(write_table)


FORMAT = Parquet()

"""CSV: the flat parameters as columns and the config as a JSON cell, no curves (the "csv" import format reads it
back). Batches come straight off the database cursor as columns in csv_columns() order (services/export.py).

Columnar, not row by row: Python's csv.writer costs ~15 µs a row for these ~45 fields, which caps an export
near 25k rows/s, while the issue asks >= 100k rows/s at 10^6 models. Each batch is turned into Arrow arrays,
every column formatted at once (Arrow's float64 -> string cast is C++, ~50 ns a cell), text fields quoted per
RFC 4180 (a field holding `,`, `"`, CR or LF is quoted, inner quotes doubled — the rule csv.writer's
QUOTE_MINIMAL applies), missing values left empty, and the row text joined in C++ as well.

Numbers: the text is not byte for byte csv.writer's (`repr`) but always parses to the same float64: Arrow writes
the shortest digits that round-trip, like repr, but an integral float without ".0" ("3", repr "3.0"), a
one-digit exponent ("2.5e-7", repr "2.5e-07") and switches to exponent notation at other magnitudes
(0.00001 / 1e+15, repr 1e-05 / 1000000000000000.0). Matching repr was measured and is not cheap: a regex test
for integral text, the ".0" join and the exponent rewrite cost ~0.45 µs a cell over the cast's ~0.25, i.e.
~15 µs a row for the ~35 float columns — as much as csv.writer itself. Readers that parse numbers (the csv
import format, pandas, Python's float) see the same values; pandas types an all-integral column such as d_1
int64 instead of float64.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from backend.designspace.exports import csv_columns

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
        return csv_column_batches([*cols[:-1], *study.get("extra_columns", ()), cols[-1]], rows)


def header_line(columns: Sequence[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(columns)
    return buf.getvalue()


def csv_column_batches(columns: Sequence[str], batches: Iterable[Sequence[Sequence[Any]]]) -> Iterator[bytes]:
    """The CSV file (header first) of `batches`, each a list of columns (sequences of equal length, in
    `columns` order; None = missing): one bytes block a batch."""
    import pyarrow as pa  # only CSV exports pay for loading Arrow
    import pyarrow.compute as pc

    yield header_line(columns).encode()
    for batch in batches:
        if not batch or not len(batch[0]):
            continue
        texts = [_text(pa, pc, values) for values in batch]
        texts[-1] = pc.binary_join_element_wise(texts[-1], "\r\n", "", null_handling="replace",
                                                null_replacement="")
        lines = pc.binary_join_element_wise(*texts, ",", null_handling="replace", null_replacement="")
        yield _contiguous_bytes(pa, lines)


def _contiguous_bytes(pa: Any, arr: Any) -> bytes:
    """The concatenated values of a string array without nulls: its data buffer between the first and last
    offset (no per-row Python string)."""
    import numpy as np

    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset:arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    block: bytes = data.slice(int(offsets[0]), int(offsets[-1] - offsets[0])).to_pybytes()
    return block


def _text(pa: Any, pc: Any, values: Sequence[Any]) -> Any:
    """One column (an Arrow array, or a sequence of Python values) as CSV field text (a string array, null =
    empty field)."""
    arr = _typed(pa, values)
    if pa.types.is_string(arr.type):
        return _quoted(pc, arr)
    return arr.cast(pa.string())  # numbers (see the module doc on number text) and all-missing columns


def _typed(pa: Any, values: Sequence[Any]) -> Any:
    """`values` as an Arrow array of numbers, text or nulls; anything else (bools, nested JSON, huge ints) as
    the text of Python's own str(), as csv.writer writes it."""
    arr = values if isinstance(values, pa.Array) else None
    if arr is None:
        try:
            arr = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arr = None
    elif pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    if arr is not None and (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)
                            or pa.types.is_string(arr.type) or pa.types.is_null(arr.type)):
        return arr
    py = values.to_pylist() if isinstance(values, pa.Array) else values
    return pa.array([None if v is None else repr(v) if isinstance(v, float) else str(v) for v in py], pa.string())


def _quoted(pc: Any, arr: Any) -> Any:
    """RFC 4180 quoting of the fields that need it (`,`, `"`, CR, LF), as csv.writer's QUOTE_MINIMAL. A column
    where every field holds a `"` (the configs' JSON) is quoted whole: one literal search, not a regex per field
    (the regex was most of the config column's cost)."""
    if arr.null_count == 0 and pc.all(pc.match_substring(arr, '"')).as_py():
        return pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    needs = pc.match_substring_regex(arr, r'[",\r\n]')
    if not pc.any(needs).as_py():
        return arr
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, arr)


FORMAT = Csv()

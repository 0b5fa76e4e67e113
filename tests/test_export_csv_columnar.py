"""The columnar CSV export (backend/exporters/csv.py) against csv.writer, the row-by-row writer it replaced:
parsed with the csv module, both give the same cells (numbers as the same float64, text identical), on real
SQLite and PostgreSQL studies with names that need quoting, failures, missing values, imported extra columns
and filters; an export that would be empty is still a 422."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.designspace.exports import config_text, csv_columns, csv_table
from backend.exporters.csv import csv_column_batches
from backend.importers import parse_file
from backend.services import export as export_service
from backend.services.columns import load_columns
from backend.services.errors import InvalidInput
from backend.services.filters import ModelFilter
from backend.services.importing import import_population
from backend.services.models_query import ordered
from db.models import models, results
from db.rawsql import driver_rows, json_value

HOSTILE = ['plain', 'with,comma', 'with "quotes"', 'line\nbreak', 'cr\rhere', '', ' lead space', '"', 'ünï']


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def same_cell(a: str, b: str) -> bool:
    """Equal text, or two numbers with the same float64 value (NaN equals NaN)."""
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return x == y or (math.isnan(x) and math.isnan(y))


def assert_same_table(new: str, old: str) -> None:
    new_rows, old_rows = parsed(new), parsed(old)
    assert new_rows[0] == old_rows[0]  # the header, byte for byte
    assert len(new_rows) == len(old_rows)
    for i, (a, b) in enumerate(zip(new_rows, old_rows, strict=True)):
        assert len(a) == len(b), i
        bad = [(k, x, y) for k, (x, y) in enumerate(zip(a, b, strict=True)) if not same_cell(x, y)]
        assert not bad, (i, bad[:5])


def old_csv(columns: list[str], batches: list[list[Any]]) -> str:
    rows = [row for batch in batches for row in zip(*batch, strict=True)]
    return "".join(csv_table(columns, rows))


def new_csv(columns: list[str], batches: list[list[Any]]) -> str:
    return b"".join(csv_column_batches(columns, batches)).decode()


def test_writer_matches_csv_writer_on_hostile_values():
    """Every kind of value csv.writer meets: floats of all magnitudes, NaN/inf, ints, big ints, None, bools,
    text that needs quoting, mixed int/float columns, all-missing columns and nested values."""
    floats = [3.0, -2.0, 0.1, 1e-05, 2.5e-07, 1e16, 1e15, 123456789012345.0, 1e22, float("nan"), float("inf"),
              -float("inf"), None, 5e-324, 0.0, -0.0]
    n = len(floats)
    cols = ["f", "i", "big", "s", "mixed", "none", "flag", "nested"]
    batch = [floats, [*range(n - 1), None], [2**70] * n, (HOSTILE * 2)[:n], [1, 2.5] * (n // 2), [None] * n,
             [True, False, None, True] * (n // 4), [{"a": [1, 2]}, None] * (n // 2)]
    assert_same_table(new_csv(cols, [batch, batch]), old_csv(cols, [batch, batch]))
    text = new_csv(cols, [batch])
    assert text.startswith("f,i,big,s,mixed,none,flag,nested\r\n") and text.endswith("\r\n")
    assert "\n3," in text and "\n2.5e-7," in text  # Arrow's shortest text (see exporters/csv.py)
    assert new_csv(cols, []) == "f,i,big,s,mixed,none,flag,nested\r\n"


@pytest.fixture
def nds_study(db_engine, reference_dir):
    """An imported NDS study (names, imported lr/wd columns, non-AnyNet configs) with some names that need
    quoting, some learning failures and some models without a result (missing values)."""
    name = "ResNeXt-A_in.json"
    pop = parse_file((reference_dir / "nds" / name).read_bytes(), name)
    sid = import_population(db_engine, pop, "nds-csv").study_id
    with db_engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(models.c.id).where(models.c.study_id == sid)
                                          .order_by(models.c.id))]
        for k, h in enumerate(HOSTILE):
            conn.execute(update(models).where(models.c.id == ids[k]).values(name=h))
        conn.execute(update(results).where(results.c.model_id.in_(ids[20:60])).values(diverged=True))
        conn.execute(update(results).where(results.c.model_id.in_(ids[60:80])).values(did_not_learn=True))
        conn.execute(update(results).where(results.c.model_id.in_(ids[80:100]))
                     .values(infer_ms=None, train_seconds=None, error_final=None))
        conn.execute(update(models).where(models.c.id.in_(ids[100:120])).values(extra=None, acts=None))
    return sid


def reference_export(engine, sid: int, flt: ModelFilter | None, sort: str | None) -> str:
    """What the export wrote before the columnar writer: the same query read row by row on a plain (text
    mode) cursor, the config re-written and the extra columns put before it, then csv.writer."""
    extras = load_columns(engine, sid).extra_names
    q = ordered(export_service.filtered(export_service.select(*export_service.CSV_COLUMNS, models.c.extra), sid,
                                        flt), sort, flt)
    rows = []
    with engine.connect() as conn:
        for batch in driver_rows(conn, q):
            for row in batch:
                extra = (json_value(row[-1]) or {}) if extras else {}
                rows.append((*row[:-2], *(extra.get(name) for name in extras), config_text(json_value(row[-2]))))
    cols = csv_columns()
    return "".join(csv_table([*cols[:-1], *extras, cols[-1]], rows))


@pytest.mark.parametrize("flt,sort", [
    (None, None),
    (ModelFilter(exclude_failures=True), "-error"),
    (ModelFilter(error_max=40.0, extra_ranges={"lr": [0.05, None]}), "flops"),
])
def test_columnar_export_equals_row_export(db_engine, nds_study, flt, sort):
    out = export_service.export(db_engine, nds_study, flt, "csv", sort)
    new = b"".join(out.chunks).decode()
    old = reference_export(db_engine, nds_study, flt, sort)
    assert_same_table(new, old)
    rows = parsed(new)
    assert int(out.headers["X-Netspace-Exported"]) == len(rows) - 1 > 0
    assert out.headers["X-Netspace-Left-Out"] == "0"
    header = rows[0]
    assert "lr" in header and header[-1] == "config" and header.index("lr") < header.index("config")
    if flt is None:
        assert {r[header.index("name")] for r in rows[1:]} >= set(HOSTILE)
        assert {r[header.index("diverged")] for r in rows[1:]} == {"True", "False"}
        assert "" in {r[header.index("infer_ms")] for r in rows[1:]}


def reference_bytes(engine, sid: int, flt: ModelFilter | None, sort: str | None) -> bytes:
    """The columnar writer fed as it was before Arrow reads: Python values a row at a time off a plain (text
    mode) cursor, each config decoded and re-encoded (never the stored models.config_text), the extra columns
    taken from the decoded models.extra — then csv_column_batches. Independent of db.rawsql.arrow_batches, the
    stored text and the fallback for rows without it."""
    extras = load_columns(engine, sid).extra_names
    q = ordered(export_service.filtered(select(*export_service.CSV_COLUMNS, models.c.extra), sid, flt), sort, flt)
    batches = []
    with engine.connect() as conn:
        for batch in driver_rows(conn, q):
            cols = list(zip(*batch, strict=True))
            extra = [json_value(e) or {} for e in cols[-1]]
            batches.append([*cols[:-2], *([e.get(name) for e in extra] for name in extras),
                            [config_text(json_value(c)) for c in cols[-2]]])
    cols = csv_columns()
    return b"".join(csv_column_batches([*cols[:-1], *extras, cols[-1]], batches))


@pytest.mark.parametrize("reader", ["adbc", "small"])
@pytest.mark.parametrize("flt,sort", [
    (None, None),
    (ModelFilter(exclude_failures=True), "-error"),
    (ModelFilter(error_max=40.0, extra_ranges={"lr": [0.05, None]}, status=["done", "queued"]), "flops"),
])
def test_arrow_export_is_byte_identical_to_the_row_reader(db_engine, nds_study, flt, sort, reader, monkeypatch):
    """The export (ADBC reads into Arrow, stored config text) gives the very bytes of the reference: every
    number, quote and line end. Some rows lack config_text (as after restoring an older archive) and some
    queued models have no result at all, in the first rows (SQLite's reader types columns from its first rows).
    On SQLite, a small export reads through the driver instead of the ADBC child ("small"); both must agree."""
    import db.rawsql

    monkeypatch.setattr(db.rawsql, "SQLITE_CHILD_MIN_ROWS", 0 if reader == "adbc" else 10**9)
    with db_engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(models.c.id).where(models.c.study_id == nds_study)
                                          .order_by(models.c.index))]
        conn.execute(update(models).where(models.c.id.in_(ids[3:9] + ids[150:160])).values(config_text=None))
        conn.execute(results.delete().where(results.c.model_id.in_(ids[:3])))
        conn.execute(update(models).where(models.c.id.in_(ids[:3])).values(error=None, status="queued"))
    stored = export_service.export(db_engine, nds_study, flt, "csv", sort)
    new = b"".join(stored.chunks)
    assert new == reference_bytes(db_engine, nds_study, flt, sort)
    assert new.count(b"\r\n") >= int(stored.headers["X-Netspace-Exported"]) + 1


def test_an_empty_csv_export_is_still_422(db_engine, nds_study):
    with pytest.raises(InvalidInput) as e:
        export_service.export(db_engine, nds_study, ModelFilter(error_min=1000.0), "csv")
    assert e.value.field == "filter"


def test_read_ahead_stops_and_closes_its_source_when_the_reader_stops_early():
    """An abandoned download: the read-ahead thread stops at its next batch and closes the source generator
    (which holds the database connection) in that thread, without reading the rest."""
    import threading

    from db.rawsql import prefetched

    read, closed = [], threading.Event()

    def source():
        try:
            for i in range(1000):
                read.append(i)
                yield i
        finally:
            closed.set()

    it = prefetched(source(), depth=2)
    assert next(it) == 0
    it.close()
    assert closed.wait(5)
    assert len(read) <= 4  # the one taken, at most `depth` queued and one waiting to be queued
    assert not [t for t in threading.enumerate() if t.name == "arrow-batches"]


def test_read_ahead_hands_on_the_sources_error():
    from db.rawsql import prefetched

    def source():
        yield 1
        raise ValueError("boom")

    it = prefetched(source())
    assert next(it) == 1
    with pytest.raises(ValueError, match="boom"):
        next(it)


def test_small_reader_batches_whose_first_rows_are_all_missing(db_engine, nds_study, monkeypatch):
    """SQLite's Arrow reader types a column by its first batch: with 2-row batches whose first rows have no
    result (every result column NULL) and no name, later numbers and names must still come through (the typed
    first row of db.rawsql._adbc_sqlite), byte for byte."""
    import db.rawsql

    monkeypatch.setattr(db.rawsql, "ARROW_ROWS", 2)
    monkeypatch.setattr(db.rawsql, "SQLITE_CHILD_MIN_ROWS", 0)
    with db_engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(models.c.id).where(models.c.study_id == nds_study)
                                          .order_by(models.c.index))]
        conn.execute(results.delete().where(results.c.model_id.in_(ids[:4])))
        conn.execute(update(models).where(models.c.id.in_(ids[:4])).values(error=None, status="queued", name=None,
                                                                          acts=None))
    new = b"".join(export_service.export(db_engine, nds_study, None, "csv").chunks)
    assert new == reference_bytes(db_engine, nds_study, None, None)
    rows = parsed(new.decode())
    assert rows[1][rows[0].index("error")] == "" and rows[-1][rows[0].index("error")] != ""

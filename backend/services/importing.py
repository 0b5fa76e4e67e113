"""Import a parsed population (backend.importers) as one new study, in one transaction.

The study (source 'imported'), every model and every model's result are written by three bulk inserts
inside a single write transaction: either the whole population is there afterwards or nothing is (a
failure halfway — a name taken meanwhile, a database error — rolls everything back). Imported models
have a result and no job, so workers never pick them up and sampling into the study is refused.

Parsing happens before the transaction (it is pure and may fail on bad input); the write lock is held
only for the inserts.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Table, Text, TypeDecorator, cast, column, func, insert, select, table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import TableClause

from backend.designspace.params import PARAM_NAMES
from backend.importers import Population, gc_paused
from backend.importers.records import compact_json
from db.engine import write_tx
from db.events import append_event
from db.models import add_models, models, results, studies, utcnow

from .errors import Conflict, InvalidInput
from .studies import NAME_PATTERN

#: browsable parameters that, when one value holds for the whole population, describe its training recipe
RECIPE_KEYS = ("epochs", "lr", "wd", "momentum", "batch_size")
SKIPPED_SHOWN = 20  # skipped records listed in the summary (all are counted)
BULK_CACHE_KIB = 256 * 1024
REBUILD_MIN_ROWS = 20_000  # below this, incremental index updates are cheap enough to leave the schema be
DEFAULT_SIZES = {"imagenet": (224, 1000), "cifar10": (32, 10), "cifar100": (32, 100), "digits": (32, 10)}


def study_row(pop: Population, name: str, source: str | None) -> dict[str, Any]:
    """The `studies` row of an imported population: what the file says about space, data and recipe."""
    space = pop.meta.get("space")
    space_name = f"{pop.format}:{space}" if space else f"imported:{pop.format}"
    im_size, num_classes = DEFAULT_SIZES.get(pop.dataset or "", (224, 1000))
    recipe = {}
    for key in RECIPE_KEYS:
        values = {r.extra.get(key) for r in pop.records}
        if len(values) == 1 and None not in values:
            recipe[key] = values.pop()
    summary = pop.summary()
    parts = [f"{summary['imported']} models"]
    if summary["skipped"]:
        parts.append(f"{summary['skipped']} bad records skipped")
    if summary["diverged"]:
        parts.append(f"{summary['diverged']} diverged")
    notes = f"Imported from {source or 'an upload'} ({pop.format}): {', '.join(parts)}."
    return {
        "name": name, "space_name": space_name[:200],
        "space": {"name": space_name[:200], "family": "imported", "format": pop.format, "source": source,
                  "meta": pop.meta, "arch_types": sorted({r.arch_type for r in pop.records})},
        "dataset": {"name": pop.dataset or "unknown"}, "recipe": recipe, "regime": {},
        "im_size": pop.im_size or im_size, "num_classes": pop.num_classes or num_classes, "seed": 0,
        "source": "imported", "notes": notes, "created_at": utcnow(),
    }


class _PgJSONText(TypeDecorator):
    """JSON we encoded ourselves, cast to jsonb by PostgreSQL on insert."""

    impl = Text
    cache_ok = True

    def bind_expression(self, bindvalue):
        return cast(bindvalue, JSONB)


@functools.cache
def _bulk_table(t: Table, dialect: str) -> TableClause:
    """`t` for bulk inserts: JSON columns take text we encoded (orjson, several times faster than the
    stdlib json that the JSON type would call for every value), everything else keeps its type."""
    text_json = _PgJSONText() if dialect == "postgresql" else Text()
    return table(t.name, *(column(c.name, text_json if isinstance(c.type, JSON) else c.type) for c in t.columns))


def encode_json(v: Any) -> str | None:
    """Column text for a JSON value (None stays SQL NULL)."""
    return None if v is None else compact_json(v).decode()


#: error and status are the trigger-kept mirrors of the result (db migrations 0003/0004): written here already
#: right, the result's insert trigger finds nothing to change and leaves the row alone
MODEL_KEYS = ("study_id", "index", "name", "config", "config_hash", "arch_type", "flops", "params", "acts",
              "extra", "created_at", "error", "status", *PARAM_NAMES)
RESULT_KEYS = ("model_id", "job_id", "error", "error_final", "diverged", "train_loss", "train_error", "test_error",
               "train_seconds", "infer_ms", "device", "created_at")


def _encoded(pop: Population) -> list[tuple[str | None, ...]]:
    """Every record's JSON columns as text — the costly part of building rows, done before the write lock."""
    return [(encode_json(r.config), encode_json(r.extra or None), encode_json(r.result.train_loss),
             encode_json(r.result.train_error), encode_json(r.result.test_error)) for r in pop.records]


def _model_rows(pop: Population, enc: list[tuple], study_id: int, now: Any) -> list[tuple]:
    return [(study_id, r.index, r.name, e[0], r.config_hash, r.arch_type, r.flops, r.params, r.acts, e[1], now,
             r.result.error, "done", *map(r.columns.get, PARAM_NAMES)) for r, e in zip(pop.records, enc, strict=True)]


def _result_rows(pop: Population, enc: list[tuple], model_ids: list[int], now: Any) -> list[tuple]:
    return [(mid, None, r.result.error, r.result.error_final, r.result.diverged, e[2], e[3], e[4],
             r.result.train_seconds, r.result.infer_ms, None, now)
            for mid, r, e in zip(model_ids, pop.records, enc, strict=True)]


def _insert_rows(conn: Connection, t: Table, keys: tuple[str, ...], rows: list[tuple]) -> None:
    """One bulk insert of `rows` (tuples in `keys` order) into `t`.

    SQLite: the statement SQLAlchemy compiles for this table, run by the driver's executemany — per-row
    parameter handling in Python is otherwise a third of a 100,000-row import. Values are already in the
    driver's terms (JSON text, the datetime string SQLAlchemy's SQLite DateTime writes). PostgreSQL: Core's
    batched multi-row VALUES."""
    bulk = _bulk_table(t, conn.dialect.name)
    if conn.dialect.name != "sqlite":
        conn.execute(insert(bulk), [dict(zip(keys, r, strict=True)) for r in rows])
        return
    compiled = insert(bulk).compile(dialect=conn.dialect, column_keys=list(keys))
    order = [keys.index(k) for k in compiled.positiontup]
    params = rows if order == list(range(len(keys))) else [tuple(r[i] for i in order) for r in rows]
    conn.exec_driver_sql(compiled.string, params)


@contextlib.contextmanager
def _deferred_indexes(conn: Connection, n_new: int) -> Iterator[None]:
    """SQLite, large imports: drop the models table's secondary indexes, insert, and recreate them.

    Each model row feeds ~30 indexes (one per filterable column), and inserting 100,000 rows into them one
    by one is most of an import's time; building an index over the finished table sorts once and is about
    twice as fast. The rebuild covers every row of the table, so it only pays when the import is at least
    as large as what is there. It happens inside the import's transaction (SQLite DDL is transactional):
    readers keep seeing the indexed snapshot, and a failure rolls the drop back. The indexes are recreated
    from their own SQL in sqlite_master, whatever revision made them. Unique constraints stay in force.
    PostgreSQL is left alone: DROP INDEX would lock the table against every reader until commit."""
    if conn.dialect.name != "sqlite" or n_new < REBUILD_MIN_ROWS:
        yield
        return
    if n_new < conn.execute(select(func.count()).select_from(models)).scalar_one():
        yield
        return
    found = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                 "AND tbl_name = 'models' AND sql IS NOT NULL").all()
    for name, _ in found:
        conn.exec_driver_sql('DROP INDEX "{}"'.format(name.replace('"', '""')))
    yield
    for _, sql in found:
        conn.exec_driver_sql(sql)


@contextlib.contextmanager
def _big_page_cache(conn: Connection) -> Iterator[None]:
    """SQLite: a 256 MiB page cache for this connection while it writes a large population.

    Every model row updates ~30 indexes (one per filterable column); with the default 2 MiB cache those
    random B-tree inserts keep evicting the pages the next row needs, and the import runs twice as long.
    The setting is per connection and is put back afterwards (the memory is only used if needed)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def import_population(engine: Engine, pop: Population, study_name: str, *,
                      source: str | None = None) -> dict[str, Any]:
    """Write `pop` as a new study named `study_name`; return the summary (counts, errors, timing)."""
    name = (study_name or "").strip()
    if not re.match(NAME_PATTERN, name):
        raise InvalidInput("must be 1-200 characters: letters, digits, space, _ . - (starting with a letter "
                           f"or digit), got {study_name!r}", "study")
    if not pop.records:
        raise InvalidInput(f"no importable records ({len(pop.skipped)} bad records skipped)", "file")
    t0 = time.perf_counter()
    row = study_row(pop, name, source)
    try:
        with gc_paused():
            enc = _encoded(pop)
        with gc_paused(), write_tx(engine) as conn:
            if conn.execute(select(studies.c.id).where(studies.c.name == name)).first():
                raise Conflict(f"a study named {name!r} exists already", "study")
            study_id = conn.execute(insert(studies).values(**row).returning(studies.c.id)).scalar_one()
            # the timestamp as this dialect stores it (a string on SQLite: rows go in through the driver)
            stamp = row["created_at"]
            if conn.dialect.name == "sqlite":
                stamp = models.c.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)(stamp)
            with _big_page_cache(conn), _deferred_indexes(conn, len(pop.records)):
                # plain executemany, then the ids in index order: RETURNING with a guaranteed row order
                # would make SQLite insert one row per statement
                _insert_rows(conn, models, MODEL_KEYS, _model_rows(pop, enc, study_id, stamp))
                add_models(conn, study_id, len(pop.records))
                model_ids = conn.execute(select(models.c.id).where(models.c.study_id == study_id)
                                         .order_by(models.c.index)).scalars().all()
                _insert_rows(conn, results, RESULT_KEYS, _result_rows(pop, enc, model_ids, stamp))
            append_event(conn, "study_created", study_id=study_id,
                         payload={"name": name, "source": "imported", "models": len(model_ids)})
    except IntegrityError:  # a concurrent import or create took the name between our check and insert
        with engine.connect() as conn:
            if conn.execute(select(studies.c.id).where(studies.c.name == name)).first():
                raise Conflict(f"a study named {name!r} exists already", "study") from None
        raise
    return {"study_id": study_id, "name": name, **pop.summary(),
            "skipped_records": [str(s) for s in pop.skipped[:SKIPPED_SHOWN]],
            "seconds": round(time.perf_counter() - t0, 3)}

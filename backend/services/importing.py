"""Import a parsed population (backend.importers) as one new study, in one transaction.

The study (source 'imported'), every model and every model's result are written by three bulk inserts
inside a single write transaction: either the whole population is there afterwards or nothing is (a
failure halfway — a name taken meanwhile, a database error — rolls everything back). Imported models
have a result and no job, so workers never pick them up and sampling into the study is refused.

Parsing happens before the transaction (it is pure and may fail on bad input); the write lock is held
only for the inserts. A file imported by `import_file` converts chunk by chunk; on SQLite the chunks are staged
in a scratch file and copied in by one transaction at the end (db/staging.py), so SQLite's single write lock is
never held while records parse and convert.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from backend.datasets import DATASETS
from backend.designspace.exports import config_text
from backend.designspace.params import PARAM_NAMES
from backend.forkpool import default_workers
from backend.importers import BadRecord, ModelRecord, Plan, Population, SplitMismatch, gc_paused, plan_file
from backend.importers.parallel import Chunk, convert_chunks
from backend.importers.records import HashDeduper, compact_json
from db.bulk import big_page_cache, deferred_indexes, insert_rows
from db.engine import refresh_statistics, writer
from db.events import append_event
from db.models import add_models, models, results, studies, utcnow
from db.staging import Staging

from .errors import Conflict, InvalidInput
from .studies import NAME_PATTERN
from .views import ImportSummary

#: browsable parameters that, when one value holds for the whole population, describe its training recipe
RECIPE_KEYS = ("epochs", "lr", "wd", "momentum", "batch_size")
SKIPPED_SHOWN = 20  # skipped records listed in the summary (all are counted)
#: files this large convert in worker processes (below, starting them costs more than they save)
PARALLEL_MIN_RECORDS = 20_000
#: records per converted chunk: small enough that writing starts early, large enough to batch the inserts
CHUNK_RECORDS = 2_500
#: JSON lists this large are parsed record by record in the workers rather than whole in this process first
SPLIT_MIN_CHARS = 4_000_000
#: resolution and classes of a population whose file and dataset say neither (ImageNet's, the paper's setting)
UNKNOWN_DATASET_SIZES = (224, 1000)
#: the tables an import fills (their planner statistics are refreshed after a big one: db.engine.refresh_statistics)
IMPORTED_TABLES = (models.name, results.name)


def dataset_sizes(dataset: str | None) -> tuple[int, int]:
    """(im_size, num_classes) an imported population defaults to: its dataset's (backend.datasets), if known."""
    entry = DATASETS.get(dataset) if dataset is not None and dataset in DATASETS else None
    if entry is not None and entry.classes is not None:
        return entry.im_size, entry.classes
    return UNKNOWN_DATASET_SIZES


def study_row(pop: Population, name: str, source: str | None) -> dict[str, Any]:
    """The `studies` row of an imported population: what the file says about space, data and recipe."""
    space = pop.meta.get("space")
    space_name = f"{pop.format}:{space}" if space else f"imported:{pop.format}"
    im_size, num_classes = dataset_sizes(pop.dataset)
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
                  "meta": pop.meta, "arch_types": sorted({r.arch_type for r in pop.records}),
                  "native_space": pop.meta.get("native_space")},
        "dataset": {"name": pop.dataset or "unknown"}, "recipe": recipe, "regime": {},
        "im_size": pop.im_size or im_size, "num_classes": pop.num_classes or num_classes, "seed": 0,
        "source": "imported", "notes": notes, "created_at": utcnow(),
    }


def encode_json(v: Any) -> str | None:
    """Column text for a JSON value (None stays SQL NULL)."""
    return None if v is None else compact_json(v).decode()


#: the columns of a row, in the table's order (so the driver takes the tuples as they are); error and status
#: are the trigger-kept mirrors of the result (db migrations 0003/0004): written here already right, the
#: result's insert trigger finds nothing to change and leaves the row alone; e_fit is fitted after the import
#: (services.derived), not here: tens of ms a record would multiply the import's time
MODEL_KEYS = ("study_id", "index", "name", "config", "config_hash", "arch_type", "flops", "params", "acts",
              "extra", "error", "status", "e_fit", "derived", "created_at", *PARAM_NAMES, "config_text")
RESULT_KEYS = ("model_id", "job_id", "error", "error_final", "diverged", "train_loss", "train_error", "test_error",
               "train_seconds", "infer_ms", "device", "created_at", "did_not_learn", "initial_loss")
for _t, _keys in ((models, MODEL_KEYS), (results, RESULT_KEYS)):
    if _keys != tuple(c.name for c in _t.c if not c.primary_key):
        raise RuntimeError(f"importing: {_t.name} columns changed; update its row keys")
_INDEX, _HASH = MODEL_KEYS.index("index"), MODEL_KEYS.index("config_hash")


def encode_rows(records: list[ModelRecord], study_id: int, stamp: Any) -> tuple[list[tuple], list[tuple]]:
    """The `models` and `results` rows of `records` (tuples in MODEL_KEYS / RESULT_KEYS order), JSON columns
    already encoded — the costly part of writing, done before the write (in the parallel import's worker
    processes). Result rows carry model_id None: the writer knows the ids once the models are in."""
    model_rows, result_rows = [], []
    for r in records:
        res = r.result
        model_rows.append((study_id, r.index, r.name, encode_json(r.config), r.config_hash, r.arch_type, r.flops,
                           r.params, r.acts, encode_json(r.extra or None), res.error, "done", None, False, stamp,
                           *map(r.columns.get, PARAM_NAMES), config_text(r.config)))
        result_rows.append((None, None, res.error, res.error_final, res.diverged, encode_json(res.train_loss),
                            encode_json(res.train_error), encode_json(res.test_error), res.train_seconds,
                            res.infer_ms, None, stamp, res.did_not_learn, None))
    return model_rows, result_rows


def _insert_models(conn: Connection, study_id: int, model_rows: list[tuple], result_rows: list[tuple]) -> None:
    """Insert models rows, then their results with the ids the models got (rows of consecutive indices)."""
    insert_rows(conn, models, MODEL_KEYS, model_rows)
    ids = conn.execute(select(models.c.id).where(models.c.study_id == study_id,
                                                 models.c.index >= model_rows[0][_INDEX])
                       .order_by(models.c.index)).scalars().all()
    insert_rows(conn, results, RESULT_KEYS, [(mid, *r[1:]) for mid, r in zip(ids, result_rows, strict=True)])


def _checked_name(study_name: str) -> str:
    name = (study_name or "").strip()
    if not re.match(NAME_PATTERN, name):
        raise InvalidInput("must be 1-200 characters: letters, digits, space, _ . - (starting with a letter "
                           f"or digit), got {study_name!r}", "study")
    return name


def _sqlite_stamp(dialect: Any, now: Any) -> Any:
    """`now` as SQLite's DateTime column stores it (rows go in through the driver as they are)."""
    process: Any = models.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
    return process(now)


def _name_free(conn: Connection, name: str) -> None:
    if conn.execute(select(studies.c.id).where(studies.c.name == name)).first():
        raise Conflict(f"a study named {name!r} exists already", "study")


@contextlib.contextmanager
def _new_study(engine: Engine, row: dict[str, Any], staging: Staging | None = None
               ) -> Iterator[tuple[Connection, int, Any]]:
    """The write transaction of one import: (connection, the new study's id, the rows' created_at as this
    dialect stores it). A name taken meanwhile by a concurrent import or create is a Conflict. With `staging`,
    the transaction's connection has the staged file attached."""
    name = row["name"]
    try:
        with gc_paused(), (staging.attached(engine) if staging else writer(engine).connect()) as conn, conn.begin():
            _name_free(conn, name)
            study_id = conn.execute(insert(studies).values(**row).returning(studies.c.id)).scalar_one()
            stamp = row["created_at"]
            if conn.dialect.name == "sqlite":
                stamp = _sqlite_stamp(conn.dialect, stamp)
            with big_page_cache(conn, default_workers()):  # index rebuilds sort on every core
                yield conn, study_id, stamp
    except IntegrityError:
        with engine.connect() as conn:
            _name_free(conn, name)
        raise


def _created(conn: Connection, study_id: int, pop: Population, name: str, source: str | None,
             t0: float) -> ImportSummary:
    """Close an import: the count, the event, the summary."""
    add_models(conn, study_id, len(pop.records))
    append_event(conn, "study_created", study_id=study_id,
                 payload={"name": name, "source": "imported", "models": len(pop.records)})
    return ImportSummary(study_id=study_id, name=name, **pop.summary(),
                         skipped_records=[str(s) for s in pop.skipped[:SKIPPED_SHOWN]],
                         seconds=round(time.perf_counter() - t0, 3))


def import_population(engine: Engine, pop: Population, study_name: str, *,
                      source: str | None = None) -> ImportSummary:
    """Write a parsed `pop` as a new study named `study_name`; return the summary (counts, errors, timing)."""
    name = _checked_name(study_name)
    if not pop.records:
        raise InvalidInput(f"no importable records ({len(pop.skipped)} bad records skipped)", "file")
    t0 = time.perf_counter()
    with _new_study(engine, study_row(pop, name, source)) as (conn, study_id, stamp):
        model_rows, result_rows = encode_rows(pop.records, study_id, stamp)
        with deferred_indexes(conn, len(pop.records)):
            _insert_models(conn, study_id, model_rows, result_rows)
        summary = _created(conn, study_id, pop, name, source, t0)
    refresh_statistics(engine, IMPORTED_TABLES, len(pop.records))
    return summary


def import_file(engine: Engine, data: bytes | str, filename: str | None, study_name: str, *, fmt: str = "auto",
                skip_bad: bool = False, source: str | None = None, workers: int | None = None,
                chunk_records: int = CHUNK_RECORDS, split_min_chars: int = SPLIT_MIN_CHARS) -> ImportSummary:
    """Parse one file and write it as a new study: the CLI's, the API's and the benchmark's import.

    Records are converted chunk by chunk (in worker processes for files of PARALLEL_MIN_RECORDS or more;
    `workers` overrides) and each chunk is written as soon as it is converted, in file order, inside the
    one transaction. A JSON list of `split_min_chars` or more is parsed record by record in the workers too
    (importers.source.split_list); if it does not split as guessed, that attempt rolls back and the file is
    parsed whole. What needs every record comes last: `Plan.finish` on the thin records (the file's meta,
    NDS cell nets' zero-filled operation counts, written back to the few rows they change) and the study
    row's final description. File faults raise ImportFormatError before anything is written; a bad record
    raises its RecordError and rolls the whole import back."""
    name = _checked_name(study_name)
    write = functools.partial(_write_plan, engine, name=name, source=source, skip_bad=skip_bad, workers=workers,
                              chunk_records=chunk_records)
    try:
        return write(plan_file(data, filename, fmt, split_min_chars=split_min_chars))
    except SplitMismatch:
        return write(plan_file(data, filename, fmt))


def _write_plan(engine: Engine, plan: Plan, *, name: str, source: str | None, skip_bad: bool, workers: int | None,
                chunk_records: int) -> ImportSummary:
    """import_file's writing: the plan's records converted chunk by chunk and written as they come.

    PostgreSQL: straight into the tables, inside the one transaction of the import (its row locks hold up
    no other writer). SQLite: into a scratch file first (db/staging.py), then into the database in one write
    transaction at the end, so the single write lock is not held while the records parse and convert."""
    if workers is None:
        workers = default_workers() if len(plan.items) >= PARALLEL_MIN_RECORDS else 1
    convert = functools.partial(_convert_all, plan, skip_bad=skip_bad, workers=workers, chunk_records=chunk_records)
    t0 = time.perf_counter()
    if engine.dialect.name == "sqlite":
        return _write_staged(engine, plan, convert, name=name, source=source, t0=t0)
    with _new_study(engine, study_row(Population(plan.format, []), name, source)) as (conn, study_id, stamp):
        records, skipped = convert(study_id, stamp, functools.partial(_insert_models, conn, study_id))
        pop, changed = _finished(plan, records, skipped)
        if changed:  # finish added keys to these records' extras (zero-filled operation counts)
            conn.execute(models.update().where(models.c.study_id == study_id, models.c.index == bindparam("i"))
                         .values(extra=bindparam("e")), [{"i": r.index, "e": r.extra} for r in changed])
        final = {k: v for k, v in study_row(pop, name, source).items() if k not in ("name", "created_at")}
        conn.execute(studies.update().where(studies.c.id == study_id).values(**final))
        summary = _created(conn, study_id, pop, name, source, t0)
    refresh_statistics(engine, IMPORTED_TABLES, len(records))
    return summary


def _write_staged(engine: Engine, plan: Plan, convert: Any, *, name: str, source: str | None,
                  t0: float) -> ImportSummary:
    """SQLite: convert into a scratch file without the write lock, then copy it in within one transaction."""
    with engine.connect() as conn:  # fail early on a taken name (checked again under the lock)
        _name_free(conn, name)
    now = utcnow()
    with Staging(engine, MODEL_KEYS, RESULT_KEYS) as staging:
        # the scratch rows carry study id 0: the copy gives them the id the study gets under the lock
        records, skipped = convert(0, _sqlite_stamp(engine.dialect, now), staging.add)
        pop, changed = _finished(plan, records, skipped)
        staging.update_models("extra", [(encode_json(r.extra), r.index) for r in changed])
        row = {**study_row(pop, name, source), "created_at": now}
        with _new_study(engine, row, staging) as (conn, study_id, _), deferred_indexes(conn, len(records)):
            staging.copy_into(conn, models.name, results.name, "study_id", study_id)
            return _created(conn, study_id, pop, name, source, t0)


def _convert_all(plan: Plan, study_id: int, stamp: Any, write: Any, *, skip_bad: bool, workers: int,
                 chunk_records: int) -> tuple[list[ModelRecord], list[BadRecord]]:
    """Convert the plan chunk by chunk (in worker processes when `workers` > 1), give each chunk its place in
    the file, and `write(model_rows, result_rows)` it; the thin records and the skipped ones."""
    records: list[ModelRecord] = []
    skipped: list[BadRecord] = []
    dedupe = HashDeduper()
    encode = functools.partial(encode_rows, study_id=study_id, stamp=stamp)
    for chunk in convert_chunks(plan, skip_bad, encode, workers=workers, chunk_records=chunk_records):
        model_rows, result_rows = chunk.encoded
        _place(chunk, len(records), dedupe)
        if model_rows:
            write(model_rows, result_rows)
        records += chunk.records
        skipped += chunk.skipped
    if not records:
        raise InvalidInput(f"no importable records ({len(skipped)} bad records skipped)", "file")
    return records, skipped


def _finished(plan: Plan, records: list[ModelRecord], skipped: list[BadRecord]
              ) -> tuple[Population, list[ModelRecord]]:
    """`Plan.finish` over the thin records: the population, and the records whose extras it added keys to
    (NDS cell nets' zero-filled operation counts), to be written back."""
    sizes = [len(r.extra) for r in records]
    pop = plan.finish(records, skipped)
    return pop, [r for r, n in zip(records, sizes, strict=True) if len(r.extra) != n]


def _place(chunk: Chunk, first_index: int, dedupe: HashDeduper) -> None:
    """Give a converted chunk's rows and records their place in the whole file: indices that continue the
    records written so far (earlier chunks may have skipped some) and config hashes unique across chunks."""
    model_rows = chunk.encoded[0]
    for i, (row, rec) in enumerate(zip(model_rows, chunk.records, strict=True)):
        index, config_hash = first_index + i, dedupe.unique(row[_HASH])
        if index != row[_INDEX] or config_hash != row[_HASH]:
            fixed = list(row)
            fixed[_INDEX], fixed[_HASH] = index, config_hash
            model_rows[i] = tuple(fixed)
            rec.index, rec.config_hash = index, config_hash

"""Backup and restore: studies with everything that belongs to them as one self-contained, versioned archive.

Format (version 1): a gzip stream of JSON lines, keys sorted, written deterministically (no time stamps, gzip
mtime 0), so the same data gives the same bytes from SQLite and from PostgreSQL.

    {"format": "netspace-dump", "version": 1, "alembic": "<revision>", "tables": {"studies": [columns...], ...},
     "ids": {"studies": <span>, ...}, "counts": {...}, "studies": [names...], "parents": {...}}
    ["studies", <values in the header's column order>]
    ...                                                   (tables in dependency order, rows by id)
    {"end": true, "counts": {...}}

What goes in follows the schema, not a list in this file: `studies` and every table whose rows belong to a
dumped study through a foreign key (today models, jobs with their queue state, results with their curves; a
table added later, e.g. notes, comes along with all its columns without a change here). Left out: `workers` (live
processes) and `events` (the change log). Columns are the tables' own, in their order, so a column added by a
migration is carried too.

Ids are not the database's: each table's ids are written relative to the smallest dumped one (1, 2, ...; gaps
kept), and foreign keys the same way, so a restore can place the rows anywhere (above the ids in use) and a
dump of the restored data is byte for byte the first one. A study whose parent was not dumped keeps the
parent's name in the header ("parents"); a restore links it to a study of that name if there is one.

Values: JSON columns as JSON, timestamps as ISO 8601 (naive UTC, microseconds), non-finite floats of float
columns as the strings "NaN", "Infinity", "-Infinity".

Both directions stream: rows are read and written in batches of BATCH, in one read snapshot (a dump) or one
write transaction (a restore: all of it or nothing), so memory does not grow with the number of models.
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Integer,
    Table,
    Text,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy import text as sql_text

from .bulk import copy_rows, sqlite_binders
from .engine import write_tx
from .events import append_event
from .models import Base, studies

FORMAT = "netspace-dump"
VERSION = 1
BATCH = 2_000
LEFT_OUT = ("workers", "events")  # live processes and the change log: not part of any study
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_OPTS = orjson.OPT_SORT_KEYS


class ArchiveError(ValueError):
    """An archive this netspace cannot read (unknown format version, damaged, newer schema)."""


class RestoreConflict(ValueError):
    """Restoring would collide with what the database holds (a study name)."""


# ---------------------------------------------------------------------------------------------- the schema

@dataclass(frozen=True)
class Part:
    """One dumped table: its columns, its renumbered integer key (if any), how its rows belong to the dumped
    studies (`owner`: its foreign key to the table it hangs from; None for studies; `also`: other cascading keys
    a row may hang from instead, e.g. a note on a study or on a model) and its references."""

    table: Table
    columns: tuple[Column, ...]
    key: Column | None
    owner: Column | None
    refs: dict[str, Table] = field(default_factory=dict)  # column name -> referenced table
    also: tuple[Column, ...] = ()


def parts() -> list[Part]:
    """The tables a dump holds, parents before children: `studies` and every table hanging from one of them by
    a foreign key (the cascading one where there are several)."""
    chosen: dict[str, Part] = {}
    for t in Base.metadata.sorted_tables:
        if t.name in LEFT_OUT:
            continue
        refs = {fk.parent.name: fk.column.table for fk in t.foreign_keys}
        inside = [fk for fk in t.foreign_keys if fk.column.table.name in chosen and fk.column.table is not t]
        if t is not studies and not inside:
            continue
        owner = None
        cascading = [fk.parent for fk in inside if (fk.ondelete or "").upper() == "CASCADE"]
        if inside:
            owner = cascading[0] if cascading else inside[0].parent
        keys = list(t.primary_key.columns)
        key = keys[0] if len(keys) == 1 and isinstance(keys[0].type, Integer) else None
        chosen[t.name] = Part(t, tuple(t.columns), key, owner, refs, tuple(c for c in cascading if c is not owner))
    return list(chosen.values())


def _selection(part: Part, by_name: dict[str, Part], study_ids: list[int] | None):
    """The WHERE clause picking a table's dumped rows (None: all of them)."""
    if study_ids is None:
        return None
    if part.owner is None:
        return part.key.in_(study_ids)
    clauses = []
    for owner in (part.owner, *part.also):  # a row belongs to a dumped study through any of its cascading keys
        parent = by_name[next(fk.column.table.name for fk in owner.foreign_keys)]
        inner = select(next(iter(owner.foreign_keys)).column)
        where = _selection(parent, by_name, study_ids)
        clauses.append(owner.in_(inner.where(where) if where is not None else inner))
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def _is_json(c: Column) -> bool:
    return isinstance(c.type, JSON)


def _revision(conn: Connection) -> str | None:
    try:
        return conn.execute(sql_text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # a database never migrated has no such table
        return None


# ---------------------------------------------------------------------------------------------- dump

def _reader(part: Part, conn: Connection) -> tuple[list[Any], list[Callable[[Any], Any] | None]]:
    """The SELECT list of a table (JSON columns as their text: parsed by orjson here, not the stdlib) and, per
    column, how a value becomes its archive form."""
    pg = conn.dialect.name == "postgresql"
    cols, enc = [], []
    for c in part.columns:
        if _is_json(c):
            cols.append(cast(c, Text) if pg else type_coerce(c, Text))
            enc.append(lambda v: None if v is None else orjson.loads(v))
        elif isinstance(c.type, DateTime):
            cols.append(c)
            enc.append(lambda v: None if v is None else v.isoformat())
        elif isinstance(c.type, Float):
            cols.append(c)
            enc.append(_float_out)
        else:
            cols.append(c)
            enc.append(None)
    return cols, enc


def _float_out(v: Any) -> Any:
    if v is None or math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def dump(engine: Engine, out: IO[bytes], study_names: list[str] | None = None) -> dict[str, int]:
    """Write the named studies (None: every study) and all that belongs to them to `out`; rows per table.

    One read snapshot throughout (SQLite: one read transaction in WAL; PostgreSQL: REPEATABLE READ), rows read
    in batches of BATCH (PostgreSQL through a server-side cursor). Unknown names raise LookupError."""
    plan = parts()
    by_name = {p.table.name: p for p in plan}
    options: dict[str, Any] = {"stream_results": True, "yield_per": BATCH}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with engine.connect().execution_options(**options) as conn, conn.begin():
        ids = _study_ids(conn, study_names)
        spans, counts, low = {}, {}, {}
        for p in plan:
            where = _selection(p, by_name, ids)
            key = p.key if p.key is not None else literal(None)
            q = select(func.min(key), func.max(key), func.count()).select_from(p.table)
            lo, hi, n = conn.execute(q.where(where) if where is not None else q).one()
            name = str(p.table.name)  # (a quoted_name: orjson takes plain str keys only)
            counts[name] = n
            if p.key is not None:
                low[name], spans[name] = lo, (hi - lo + 1 if n else 0)
        dumped = set(conn.execute(select(studies.c.id).where(studies.c.id.in_(ids)) if ids is not None
                                  else select(studies.c.id)).scalars())
        names = conn.execute(select(studies.c.name).where(studies.c.id.in_(dumped)).order_by(studies.c.id)).scalars()
        parents = dict(conn.execute(
            select(studies.c.id, studies.c.parent_id).where(studies.c.id.in_(dumped),
                                                            studies.c.parent_id.is_not(None))).all())
        outside = {str(sid - low["studies"] + 1): conn.execute(select(studies.c.name).where(studies.c.id == pid))
                   .scalar_one() for sid, pid in parents.items() if pid not in dumped}
        header = {"format": FORMAT, "version": VERSION, "alembic": _revision(conn),
                  "tables": {str(p.table.name): [str(c.name) for c in p.columns] for p in plan},
                  "ids": spans, "counts": counts, "studies": list(names), "parents": outside}
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=3) as z:
            z.write(orjson.dumps(header, option=_OPTS) + b"\n")
            for p in plan:
                _dump_part(conn, z, p, by_name, ids, low, dumped)
            z.write(orjson.dumps({"end": True, "counts": counts}, option=_OPTS) + b"\n")
    return counts


def _study_ids(conn: Connection, names: list[str] | None) -> list[int] | None:
    if names is None:
        return None
    found = dict(conn.execute(select(studies.c.name, studies.c.id).where(studies.c.name.in_(names))).all())
    missing = [n for n in names if n not in found]
    if missing:
        raise LookupError(f"study: no study named {', '.join(map(repr, missing))}")
    return sorted(set(found.values()))


def _dump_part(conn: Connection, z: IO[bytes], p: Part, by_name: dict[str, Part], ids: list[int] | None,
               low: dict[str, int | None], dumped: set[int]) -> None:
    cols, enc = _reader(p, conn)
    shift: list[tuple[int, int, bool]] = []  # (position, offset, check the id is a dumped study)
    for i, c in enumerate(p.columns):
        target = p.table.name if c is p.key else (p.refs[c.name].name if c.name in p.refs else None)
        if target is not None and by_name.get(target) is not None and by_name[target].key is not None:
            shift.append((i, (low[target] or 0) - 1, target == "studies"))
        elif target is not None:  # a reference to something not dumped (a worker): meaningless elsewhere
            enc[i] = lambda v: None
    where = _selection(p, by_name, ids)
    q = select(*cols).order_by(*(p.table.primary_key.columns or p.columns))
    result = conn.execute(q.where(where) if where is not None else q)
    name = str(p.table.name)
    for batch in result.partitions():
        lines = []
        for row in batch:
            values = [v if f is None else f(v) for f, v in zip(enc, row, strict=True)]
            for i, off, study in shift:
                v = values[i]
                if v is not None:
                    values[i] = None if study and v not in dumped else v - off
            lines.append(orjson.dumps([name, *values], option=_OPTS))
        lines.append(b"")
        z.write(b"\n".join(lines))


def dump_file(engine: Engine, path: Path, study_names: list[str] | None = None) -> dict[str, int]:
    """dump() to `path`, written beside it first and renamed into place when complete."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with tmp.open("wb") as f:
            counts = dump(engine, f, study_names)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return counts


# ---------------------------------------------------------------------------------------------- restore

def read_header(lines: Iterator[bytes]) -> dict[str, Any]:
    """The archive's first line, checked: our format and a version this code reads, or ArchiveError."""
    try:
        header = orjson.loads(next(lines))
    except (StopIteration, orjson.JSONDecodeError, OSError, EOFError) as e:
        raise ArchiveError(f"file: not a netspace dump ({type(e).__name__}: {e})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ArchiveError("file: not a netspace dump (no netspace-dump header)")
    if header.get("version") != VERSION:
        raise ArchiveError(f"file: archive format version {header.get('version')!r} is not one this netspace "
                           f"reads (version {VERSION}); restore it with the netspace that wrote it")
    return header


def _lines(path: Path) -> Iterator[bytes]:
    try:
        with gzip.open(path, "rb") as z:
            yield from z
    except gzip.BadGzipFile:
        raise ArchiveError("file: not a netspace dump (not a gzip file)") from None
    except (OSError, EOFError) as e:  # cut short, corrupted
        raise ArchiveError(f"file: damaged archive ({e})") from None


def _writer(conn: Connection, p: Part, names: list[str], base: dict[str, int]) -> Callable[[list], tuple]:
    """How an archive row (values in `names` order) becomes a row for insert_rows in the table's column order:
    ids moved to `base`, JSON encoded, timestamps parsed, SQLite's binders applied; columns the archive lacks
    (an older schema) take their default."""
    pos = {n: i for i, n in enumerate(names)}
    steps: list[Callable[[list], Any]] = []
    for c in p.columns:
        target = p.table.name if c is p.key else (p.refs[c.name].name if c.name in p.refs else None)
        i = pos.get(c.name)
        if i is None:
            default = c.default.arg if c.default is not None and c.default.is_scalar else None
            steps.append(lambda _row, d=default: d)
        elif target is not None and target in base:
            steps.append(lambda row, i=i, b=base[target] - 1: None if row[i] is None else row[i] + b)
        elif _is_json(c):
            steps.append(lambda row, i=i: None if row[i] is None else orjson.dumps(row[i]).decode())
        elif isinstance(c.type, DateTime):
            steps.append(lambda row, i=i: None if row[i] is None else dt.datetime.fromisoformat(row[i]))
        elif isinstance(c.type, Float):
            steps.append(lambda row, i=i: _NONFINITE.get(row[i], row[i]) if isinstance(row[i], str) else row[i])
        else:
            steps.append(lambda row, i=i: row[i])
    binders = sqlite_binders(conn, p.table, tuple(c.name for c in p.columns)) if conn.dialect.name == "sqlite" \
        else [None] * len(p.columns)
    pairs = list(zip(steps, binders, strict=True))
    return lambda row: tuple(s(row) if b is None else b(s(row)) for s, b in pairs)


def _reserve(conn: Connection, p: Part, span: int) -> int:
    """The first of `span` consecutive free ids for table `p` (above every id in use; PostgreSQL's sequence is
    moved past them, so concurrent inserts elsewhere do not take them)."""
    span = max(span, 1)
    if conn.dialect.name == "postgresql":
        seq = conn.execute(select(func.pg_get_serial_sequence(p.table.name, p.key.name))).scalar()
        if seq:
            quote = conn.dialect.identifier_preparer.quote  # our own table and column names, not input
            top = conn.execute(sql_text(
                "SELECT setval(CAST(:seq AS regclass), GREATEST(nextval(CAST(:seq AS regclass)), "
                f"(SELECT COALESCE(MAX({quote(p.key.name)}), 0) + 1 FROM {quote(p.table.name)})) + :span - 1)"),
                {"seq": seq, "span": span}).scalar_one()
            return top - span + 1
    return conn.execute(select(func.coalesce(func.max(p.key), 0) + 1)).scalar_one()


def _check_names(conn: Connection, names: list[str], rename: dict[str, str]) -> dict[str, str]:
    unknown = [old for old in rename if old not in names]
    if unknown:
        raise RestoreConflict(f"rename: the archive holds no study named {', '.join(map(repr, unknown))} "
                              f"(it holds {', '.join(map(repr, names))})")
    final = {n: rename.get(n, n) for n in names}
    taken = list(conn.execute(select(studies.c.name).where(studies.c.name.in_(list(final.values())))).scalars())
    if taken:
        raise RestoreConflict(f"study: the database already has {', '.join(map(repr, sorted(taken)))}; delete it "
                              "or restore under another name with --rename OLD=NEW")
    if len(set(final.values())) != len(final):
        raise RestoreConflict("rename: two studies would get the same name")
    return final


def restore(engine: Engine, path: Path, rename: dict[str, str] | None = None) -> dict[str, Any]:
    """Add the archive's studies (and all that came with them) to the database, in one write transaction;
    returns {"studies": [new names], "counts": rows per table, "unlinked": parents not found by name}.

    ArchiveError: not an archive of a version this code reads, damaged, or from a newer schema (columns this
    database lacks). RestoreConflict: a study name is taken (rename it)."""
    lines = _lines(path)
    header = read_header(lines)
    plan = {p.table.name: p for p in parts()}
    tables = header.get("tables") or {}
    for name, cols in tables.items():
        have = {c.name for c in plan[name].columns} if name in plan else set()
        missing = [c for c in cols if c not in have]
        if name not in plan or missing:
            raise ArchiveError(f"file: written by a newer netspace (schema {header.get('alembic')}): this database "
                               f"has no {name}{'.' + ', '.join(missing) if missing else ''}; upgrade to restore it")
    counts = dict.fromkeys(tables, 0)
    with write_tx(engine) as conn:
        final = _check_names(conn, header.get("studies") or [], rename or {})
        base = {name: _reserve(conn, plan[name], header["ids"].get(name, 0))
                for name in tables if plan[name].key is not None}
        writers = {name: _writer(conn, plan[name], cols, base) for name, cols in tables.items()}
        keys = {name: tuple(c.name for c in plan[name].columns) for name in tables}
        later: list[tuple[int, int]] = []  # (study id, parent id): linked once every study is in
        pending: list[tuple] = []
        current = None
        end = None
        for raw in lines:
            rec = orjson.loads(raw)
            if isinstance(rec, dict):
                end = rec
                break
            name = rec[0]
            if name != current:
                _flush(conn, plan, keys, current, pending)
                current, pending = name, []
            if name not in writers:
                raise ArchiveError(f"file: a row of table {name!r}, which the header does not list")
            row = writers[name](rec[1:])
            if name == "studies":
                row = _unlinked_study(row, keys["studies"], final, later)
            pending.append(row)
            counts[name] += 1
            if len(pending) >= BATCH:
                _flush(conn, plan, keys, current, pending)
                pending = []
        _flush(conn, plan, keys, current, pending)
        if end is None or end.get("counts") != counts or counts != header.get("counts"):
            raise ArchiveError(f"file: the archive is incomplete (rows {counts}, header says {header.get('counts')})")
        for sid, parent in later:
            conn.execute(update(studies).where(studies.c.id == sid).values(parent_id=parent))
        unlinked = _link_outside(conn, header.get("parents") or {}, base.get("studies", 1))
        new_ids = range(base.get("studies", 1), base.get("studies", 1) + header["ids"].get("studies", 0))
        for sid, name in conn.execute(select(studies.c.id, studies.c.name).where(studies.c.id.in_(list(new_ids)))
                                      .order_by(studies.c.id)).all():
            append_event(conn, "study_created", study_id=sid, payload={"name": name, "source": "restored"})
    return {"studies": list(final.values()), "counts": counts, "unlinked": unlinked}


def _unlinked_study(row: tuple, keys: tuple[str, ...], final: dict[str, str],
                    later: list[tuple[int, int]]) -> tuple:
    """A study row renamed as asked, its parent link kept for after every study is in (a parent may come later)."""
    values = list(row)
    i_name, i_parent, i_id = keys.index("name"), keys.index("parent_id"), keys.index("id")
    values[i_name] = final.get(values[i_name], values[i_name])
    if values[i_parent] is not None:
        later.append((values[i_id], values[i_parent]))
        values[i_parent] = None
    return tuple(values)


def _link_outside(conn: Connection, parents: dict[str, str], base: int) -> list[str]:
    """Studies whose parent was not in the archive: linked to a study of the parent's name where there is one."""
    unlinked = []
    for dump_id, parent_name in sorted(parents.items()):
        pid = conn.execute(select(studies.c.id).where(studies.c.name == parent_name)).scalar()
        if pid is None:
            unlinked.append(parent_name)
            continue
        conn.execute(update(studies).where(studies.c.id == int(dump_id) + base - 1).values(parent_id=pid))
    return unlinked


def _flush(conn: Connection, plan: dict[str, Part], keys: dict[str, tuple[str, ...]], name: str | None,
           rows: list[tuple]) -> None:
    if name is not None and rows:
        copy_rows(conn, plan[name].table, keys[name], rows)


def archive_info(path: Path) -> dict[str, Any]:
    """The header of an archive (checked), without reading the rows."""
    return read_header(_lines(path))


__all__ = ["ArchiveError", "RestoreConflict", "archive_info", "dump", "dump_file", "parts", "read_header",
           "restore"]

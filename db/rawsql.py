"""Run a SQLAlchemy Core select on the driver's own cursor, for bulk reads of 10^5–10^6 rows.

SQLAlchemy's per-row result processing (Row objects, JSON decoding, type processors) costs several times more
than the query itself at this size; the population loader and the exports read plain tuples instead. The SQL is
still compiled by SQLAlchemy from whitelisted columns with bound parameters, never built from strings.
JSON columns arrive as text from SQLite and already decoded from psycopg: `json_value` evens that out.

`arrow_batches` goes one step further for the CSV export of 10^6 rows: the same select read straight into Arrow
record batches by the ADBC drivers (Apache Arrow's own database connectivity), with no Python object per value.
PostgreSQL's driver streams the query through `COPY (...) TO STDOUT` in binary and converts in C; SQLite's steps
the statement in C. Measured on the CSV query of a 10^5-model study (loaded 2-core machine): ADBC 121k rows/s
(SQLite) and 83k rows/s (PostgreSQL, the server's own join/sort the limit), against ~40k rows/s CPU for
sqlite3's fetchmany with the transpose into Arrow arrays.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from sqlalchemy import Boolean, Connection, Engine, Float, Integer, Numeric, Select, literal, select, union_all

if TYPE_CHECKING:
    import pyarrow as pa

FETCH = 5000
T = TypeVar("T")


def driver_rows(conn: Connection, q: Select[Any], stream: bool = False,
                binary: bool = False) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of raw row tuples for `q`. stream=True uses a server-side cursor on PostgreSQL (constant memory);
    binary=True has that cursor send binary values (the same Python values; ~30 % less fetch time for ~45
    numeric columns, which psycopg then need not parse from text)."""
    sql, params = _compiled(conn, q)
    raw: Any = conn.connection.driver_connection
    if stream and conn.dialect.name == "postgresql":
        if not conn.in_transaction():
            conn.begin()  # named cursors live inside a transaction
        cur = raw.cursor(name=f"netspace_{uuid.uuid4().hex[:12]}", binary=binary)
    else:
        cur = raw.cursor()
    try:
        cur.execute(sql, params)
        while batch := cur.fetchmany(FETCH):
            yield batch
    finally:
        cur.close()


def _compiled(conn: Connection, q: Select[Any]) -> tuple[str, Any]:
    """(SQL text, parameters in the driver's paramstyle) of `q`, with SQLAlchemy's bind processors applied."""
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    procs = getattr(compiled, "_bind_processors", None) or {}  # e.g. a JSON path's '$."lr"' on SQLite
    if procs:
        params = {k: procs[k](v) if k in procs and v is not None else v for k, v in params.items()}
    if compiled.positional:
        params = tuple(params[k] for k in compiled.positiontup or ())
    return str(compiled), params


#: rows per record batch read from SQLite (its driver's default is 1024: 10^3 tiny batches per 10^6 rows)
ARROW_ROWS = 16384


#: rows from which a SQLite read goes through the ADBC child process: starting it costs ~0.3-0.5 s, which a small
#: export (2x10^4 rows: ~0.3 s through driver_rows) does not win back
SQLITE_CHILD_MIN_ROWS = 50_000


def arrow_batches(engine: Engine, q: Select[Any], rows: int | None = None) -> Iterator[pa.RecordBatch]:
    """Record batches of `q`'s rows (columns in `q`'s order, SQL NULL = Arrow null), read in constant memory.

    ADBC for PostgreSQL and SQLite database files (from SQLITE_CHILD_MIN_ROWS expected `rows`, or when unknown),
    on a connection of its own; anything else (a small SQLite read, an in-memory SQLite database, another
    dialect) reads through `driver_rows` and builds the arrays from Python values.
    Values are the ones `driver_rows` gives: the same int64/float64 numbers and text; JSON columns come as their
    text (PostgreSQL's jsonb text form, SQLite's stored text), not decoded."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        yield from prefetched(_adbc_postgresql(engine, q))
    elif url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:") and (rows is None or rows >= SQLITE_CHILD_MIN_ROWS):
        yield from prefetched(_adbc_sqlite(engine, q))
    else:
        yield from _python_batches(engine, q)


def prefetched(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`batches`, read ahead by a thread of its own, at most `depth` batches ahead (memory stays bounded).

    The read (ADBC's C code, SQLite's own query work) and the caller's formatting (Arrow kernels) both release
    the GIL, so the two overlap on two cores instead of taking turns. The reader runs the whole source
    generator, its connection included, in its thread; a consumer that stops early (an abandoned download) has
    the reader stop at its next batch and close the source there."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    break
            else:
                put(("end", None))
        except BaseException as e:  # handed to the consumer, raised there
            put(("error", e))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="arrow-batches", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        reader.join()


def _adbc_postgresql(engine: Engine, q: Select[Any]) -> Iterator[pa.RecordBatch]:
    """The driver streams a query with no parameters through binary COPY (one with parameters would be read
    whole into memory first), so psycopg merges the parameters into the SQL client-side first: its own
    quoting (ClientCursor.mogrify), for this server's encoding and string settings."""
    import adbc_driver_postgresql.dbapi as adbc
    import psycopg

    with engine.connect() as conn:
        sql, params = _compiled(conn, q)
        raw: Any = conn.connection.driver_connection
        query = psycopg.ClientCursor(raw).mogrify(sql, params)
    uri = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc.connect(uri) as db, db.cursor() as cur:
        cur.execute(query)
        for batch in cur.fetch_record_batch():
            yield _plain(batch)


def _adbc_sqlite(engine: Engine, q: Select[Any]) -> Iterator[pa.RecordBatch]:
    """SQLite's ADBC driver, run in a child process (db.arrow_child: it links its own SQLite, which must not
    share this process with Python's sqlite3 on one file), its batches read back as an Arrow IPC stream.

    The driver types each column by the values of its first batch and fails on a later value of another type
    (a column NULL throughout the first batch is taken for int64, then a float breaks the read: apache/
    arrow-adbc#581). So a first row of typed placeholders (a float, an integer or a text by each column's SQL
    type) goes before the rows, through UNION ALL, and is dropped here."""
    import subprocess
    import sys

    import pyarrow as pa

    sub = q.subquery()
    probe = select(*(literal(_placeholder(c.type), c.type).label(c.key) for c in sub.columns))
    typed = union_all(probe, select(*sub.columns))
    with engine.connect() as conn:
        sql, params = _compiled(conn, typed)  # type: ignore[arg-type]
    job = json.dumps({"path": engine.url.database, "sql": sql, "params": list(params or ()), "rows": ARROW_ROWS})
    child = subprocess.Popen([sys.executable, "-m", "db.arrow_child"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(job.encode())
        child.stdin.close()
        try:
            reader = pa.ipc.open_stream(child.stdout)
        except pa.ArrowInvalid:
            reader = None
        first = True
        for batch in reader or ():
            if first:
                batch, first = batch.slice(1), False
            if batch.num_rows:
                yield batch
        if child.wait() != 0:
            err = child.stderr.read().decode(errors="replace") if child.stderr else ""
            raise RuntimeError(f"the SQLite reader process failed: {err.strip().splitlines()[-1:] or child.returncode}")
    finally:
        if child.poll() is None:  # stopped early (an abandoned download): the child has nothing more to do
            child.kill()
            child.wait()
        for f in (child.stdout, child.stderr):
            if f is not None:
                f.close()


def _placeholder(sql_type: Any) -> Any:
    if isinstance(sql_type, Integer | Boolean):
        return 0
    if isinstance(sql_type, Float | Numeric):
        return 0.5
    return "x"


def _python_batches(engine: Engine, q: Select[Any]) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    names = [c.key for c in q.selected_columns]
    with engine.connect() as conn:
        for batch in driver_rows(conn, q, stream=True):
            cols = list(zip(*batch, strict=True))
            yield pa.RecordBatch.from_arrays([_array(pa, c) for c in cols], names=names)


def _array(pa: Any, values: Any) -> Any:
    """An Arrow array of Python values; anything Arrow cannot type alone (a decoded JSON value of mixed
    shapes) as its JSON text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else v if isinstance(v, str) else orjson.dumps(v).decode()
                         for v in values], pa.string())


def _plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    """`batch` with extension columns (PostgreSQL's json/jsonb as arrow.json) as their storage (text)."""
    import pyarrow as pa

    if not any(isinstance(t, pa.ExtensionType) for t in batch.schema.types):
        return batch
    cols = [c.storage if isinstance(c, pa.ExtensionArray) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


def json_value(v: Any) -> Any:
    if not isinstance(v, str | bytes):
        return v
    try:
        return orjson.loads(v)  # ~3x faster than json on 10^5 configs
    except orjson.JSONDecodeError:
        return json.loads(v)  # bare NaN/Infinity (curves of diverged runs), which only json reads

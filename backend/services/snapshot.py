"""Columnar snapshots of large studies' populations: one Arrow IPC file per study, next to the database.

Reading a 10^6-model population from the database costs seconds (the driver's fetch and the transpose into
columns), and a restarted server, or every process of several, paid it again on its first figure. A snapshot
is the population as services.population holds it, written after a full read, with the data version it
reflects (services.popcache). A cold process maps the file and patches
it with what the study's events say changed since that version — the same patch a warm cache gets — so a
snapshot never has to be current to be right: it only saves the read. It is skipped (a full read, then a new
snapshot) when it is unreadable, written for another study of the same id, or too far behind for a patch.

The file is uncompressed, so that reading it is mapping it: numeric columns come back as read-only numpy views of
the mapped pages (the cache never writes into its arrays), the text columns are stored dictionary-encoded (a
handful of distinct values: a numpy take, not 10^6 string conversions), and booleans as bytes viewed as bool.
At 10^6 models the lz4-compressed file it replaces took 2.8 s to decompress whole on a loaded 2-core machine
however few columns a figure needed; mapped, the read is milliseconds and pages are faulted in as a figure
touches them. The price is disk: ~300 MB instead of ~115 MB at 10^6 models (mostly NaN per-stage columns).

Where: $NETSPACE_SNAPSHOT_DIR (an empty value turns snapshots off), else `<database file>.snapshots/` for
SQLite and the user's cache directory for PostgreSQL, in a folder per database URL. Files are replaced
atomically, so readers in other processes see the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Engine

from backend.cachedir import cache_dir

#: studies smaller than this read from the database about as fast as from a file: no snapshot
SNAPSHOT_MIN = 20_000
#: bump when the file's layout changes; older files are then ignored (and replaced)
FORMAT = 2
_KEY = b"netspace"
Columns = dict[str, np.ndarray]


def directory(engine: Engine) -> Path | None:
    """The folder of this database's snapshots, or None (snapshots off, or an in-memory database)."""
    env = os.environ.get("NETSPACE_SNAPSHOT_DIR")
    url = engine.url
    if env == "":
        return None
    if env:
        base = Path(env)
    elif url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None
        db = Path(url.database).resolve()
        base = db.with_name(db.name + ".snapshots")
    else:
        base = cache_dir() / "snapshots"
    return base / hashlib.sha1(url.render_as_string(hide_password=True).encode()).hexdigest()[:12]


def _path(engine: Engine, study_id: int) -> Path | None:
    folder = directory(engine)
    return None if folder is None else folder / f"study-{int(study_id)}.arrow"


def _identity(study: dict[str, Any]) -> str:
    """What tells two studies of the same id apart (SQLite may reuse the id of a deleted study)."""
    return f"{study.get('id')}|{study.get('name')}|{study.get('created_at')}"


def save(engine: Engine, study: dict[str, Any], columns: Columns, version: tuple[int, ...]) -> bool:
    """Write the population's columns as the study's snapshot at `version`; False when snapshots are off."""
    path = _path(engine, int(study["id"]))
    if path is None:
        return False
    meta = {"format": FORMAT, "study": _identity(study), "version": list(version), "columns": list(columns),
            "bool": [name for name, col in columns.items() if col.dtype == bool]}
    table = pa.Table.from_arrays([_to_arrow(col) for col in columns.values()], names=list(columns))
    table = table.replace_schema_metadata({_KEY: json.dumps(meta)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


_pending: dict[Path, threading.Thread] = {}
_pending_guard = threading.Lock()


def save_later(engine: Engine, study: dict[str, Any], columns: Columns, version: tuple[int, ...]) -> bool:
    """`save` on a background thread: writing 10^6 rows costs ~1 s (strings to Arrow, lz4) that the request
    which read the population should not wait for — the snapshot only helps the next cold process. One write
    per study at a time; a request that finds one in flight skips its own (the next full read or re-patch
    writes again). The columns are the cache's arrays, never written in place, so sharing them is safe."""
    path = _path(engine, int(study["id"]))
    if path is None:
        return False
    with _pending_guard:
        if path in _pending:
            return False

        def run() -> None:
            try:
                save(engine, study, columns, version)
            finally:
                with _pending_guard:
                    _pending.pop(path, None)

        thread = threading.Thread(target=run, name=f"snapshot-{study['id']}", daemon=True)
        _pending[path] = thread
        thread.start()
    return True


def flush(timeout: float = 60.0) -> None:
    """Wait for the snapshot writes in flight (tests; a server about to stop)."""
    with _pending_guard:
        threads = list(_pending.values())
    for thread in threads:
        thread.join(timeout)


def load(engine: Engine, study: dict[str, Any], names: list[str]) -> tuple[tuple[int, ...], Columns] | None:
    """(version, columns) of the study's snapshot, or None: none written, another layout or another study of
    the same id, or an unreadable file (then removed, so the next full read writes a good one). The file's
    columns start with `names`; any after them (a population's extra columns) come back too."""
    path = _path(engine, int(study["id"]))
    if path is None or not path.exists():
        return None
    try:
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()  # buffers over the mapping: no copy
        meta = json.loads((table.schema.metadata or {}).get(_KEY, b"{}"))
        stored = meta.get("columns", [])
        if meta.get("format") != FORMAT or meta.get("study") != _identity(study) or stored[:len(names)] != names:
            return None
        flags = set(meta["bool"])
        columns = {name: _to_numpy(table.column(name), name in flags) for name in meta["columns"]}
        return tuple(int(v) for v in meta["version"]), columns
    except (OSError, ValueError, KeyError, pa.ArrowException):
        path.unlink(missing_ok=True)
        return None


def _to_arrow(col: np.ndarray) -> pa.Array:
    """A population column as the file stores it: text dictionary-encoded, booleans as uint8 (Arrow packs bools
    into bits, which cannot be viewed as numpy bools), numbers as they are."""
    if col.dtype == object:
        return pa.array(col.tolist(), type=pa.string()).dictionary_encode()
    if col.dtype == bool:
        return pa.array(np.ascontiguousarray(col).view(np.uint8))
    return pa.array(col)


def _to_numpy(column: pa.ChunkedArray, flag: bool) -> np.ndarray:
    """The numpy column of a mapped file's column: a read-only view for numbers and flags; text as an object
    array taken from the dictionary's few values (missing text: None)."""
    chunk = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if isinstance(chunk, pa.DictionaryArray):
        values = np.array([*chunk.dictionary.to_pylist(), None], dtype=object)
        return values[chunk.indices.fill_null(len(chunk.dictionary)).to_numpy()]
    out = chunk.to_numpy(zero_copy_only=False)
    return out.view(bool) if flag else out

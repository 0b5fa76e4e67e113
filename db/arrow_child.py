"""A child process that reads one SQLite query into Arrow and streams the record batches to its stdout (Arrow IPC).

Why a process: ADBC's SQLite driver carries its own copy of the SQLite library. Two copies of SQLite in one
process must never open the same database file: POSIX locks belong to the process, so one copy closing its file
descriptor drops the locks the other copy's connections hold (https://www.sqlite.org/howtocorrupt.html, 2.2.1).
In the server (whose pool holds Python's sqlite3 connections) that showed as an export that read an empty
snapshot right after an import committed. A separate process has its own locks, like any other reader of the file.

Input (stdin, JSON): {"path": database file, "sql": text with qmark placeholders, "params": [...], "rows": batch
rows}. Imports nothing of the project (a quick start: pyarrow and the driver only).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    job = json.loads(sys.stdin.buffer.read())
    out = sys.stdout.buffer
    with adbc.connect(job["path"]) as db, db.cursor() as cur:
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(job["rows"])})
        cur.execute(job["sql"], job["params"] or None)
        reader = cur.fetch_record_batch()
        with pa.ipc.new_stream(out, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
    out.flush()


if __name__ == "__main__":
    main()

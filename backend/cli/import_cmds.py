"""`netspace import FILE --study NAME`: bring a trained population (NDS, pycls sweep, our exports) in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from backend.importers import IMPORT_FORMATS, RecordError

from .app import app
from .db import open_db
from .errors import fail


@app.command(name="import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="NDS .json, pycls sweep.json, or our .jsonl/.csv/.json export")],
    study: Annotated[str, typer.Option(help="name of the new study")],
    fmt: Annotated[str, typer.Option("--format", help=f"auto | {' | '.join(IMPORT_FORMATS.entries())}")] = "auto",
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: $NETSPACE_DB or ./netspace.db)")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="skip bad records (counted) instead of failing")]
    = False,
) -> None:
    """Import every run of FILE as one new study (one transaction: all of it or nothing)."""
    if fmt != "auto" and fmt not in IMPORT_FORMATS:
        fail(f"format: must be auto or one of {', '.join(IMPORT_FORMATS.entries())} (got {fmt!r})")
    if not file.is_file():
        fail(f"file: not found: {file}")
    from backend.services.derived import fill_e_fit
    from backend.services.importing import import_file

    with open_db(db) as engine:
        try:
            out = import_file(engine, file.read_bytes(), file.name, study, fmt=fmt, skip_bad=skip_bad,
                              source=file.name)  # a bad file: InvalidField -> exit 2
        except RecordError as e:
            fail(e.message)  # "record 12: key: what is wrong" (the field, the file, is the command's argument)
        t0 = time.perf_counter()
        fitted = fill_e_fit(engine, out.study_id)  # stored now, so no figure ever fits them
        fit_s = time.perf_counter() - t0
    mean = f"{out.mean_error:.3f}" if out.mean_error is not None else "-"
    print(f"imported {out.imported} models into study {out.name!r} (id {out.study_id}) from "
          f"{file.name} [{out.format}, {out.dataset or 'dataset unknown'}]: min error "
          f"{out.min_error:.3f}, mean {mean}, {out.diverged} diverged, {out.skipped} skipped "
          f"in {out.seconds:.2f}s")
    if fitted:
        print(f"  e_fit of {fitted} models fitted and stored in {fit_s:.2f}s")
    for line in out.skipped_records:
        print(f"  skipped {line}")
    if out.skipped > len(out.skipped_records):
        print(f"  ... and {out.skipped - len(out.skipped_records)} more skipped")

"""`netspace dump` and `netspace restore`: studies with their spec, recipe, regime, lineage, models, results,
curves and queue as one versioned archive (db/backup.py), between any two databases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .app import app
from .db import open_db
from .errors import fail
from .server_cmds import DbOption


@app.command(name="dump")
def dump_cmd(
    out: Annotated[Path, typer.Option(help="archive to write (gzip'd JSON lines, e.g. studies.nsdump.gz)")],
    study: Annotated[list[str] | None, typer.Option(help="a study's name (repeat for more)")] = None,
    all_studies: Annotated[bool, typer.Option("--all", help="every study in the database")] = False,
    db: DbOption = None,
) -> None:
    """Write studies and everything that belongs to them (models, results with curves, jobs, lineage) to one
    archive that `netspace restore` reads into any database (SQLite or PostgreSQL)."""
    from db.backup import dump_file

    if bool(study) == all_studies:
        fail("study: give --study NAME (repeat for more) or --all, not both")
    with open_db(db, must_exist=True) as engine:
        try:
            counts = dump_file(engine, out, None if all_studies else study)
        except LookupError as e:
            fail(str(e.args[0]))
    print(f"wrote {out}: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()), file=sys.stderr)


@app.command(name="restore")
def restore_cmd(
    file: Annotated[Path, typer.Argument(help="an archive written by `netspace dump`")],
    rename: Annotated[list[str] | None, typer.Option(
        help="OLD=NEW: restore study OLD as NEW (repeatable); just NEW when the archive holds one study")] = None,
    db: DbOption = None,
) -> None:
    """Add the archive's studies to the database, all of them or nothing (a name already taken is an error:
    rename it)."""
    from db.backup import archive_info, restore

    if not file.is_file():
        fail(f"file: not found: {file}")
    names = archive_info(file)["studies"]  # checks the format version before anything is touched
    mapping = {}
    for item in rename or []:
        old, sep, new = item.partition("=")
        if not sep:
            if len(names) != 1:
                fail(f"rename: the archive holds {len(names)} studies; say which with OLD=NEW (got {item!r})")
            old, new = names[0], item
        if not new.strip():
            fail(f"rename: the new name is empty in {item!r}")
        mapping[old] = new.strip()
    with open_db(db) as engine:
        out = restore(engine, file, mapping)
    print(f"restored {', '.join(map(repr, out['studies']))}: "
          + ", ".join(f"{n:,} {t}" for t, n in out["counts"].items()), file=sys.stderr)
    for parent in out["unlinked"]:
        print(f"  parent study {parent!r} is not in this database: its child is restored without the link",
              file=sys.stderr)

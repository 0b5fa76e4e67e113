"""`netspace report --study A [--study B ...] --out report.html`: every analysis figure in one offline page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import app
from .db import open_db
from .errors import fail


@app.command(name="report")
def report_cmd(
    study: Annotated[list[str], typer.Option(help="study name or id; repeat to overlay several studies")],
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: $NETSPACE_DB or ./netspace.db)")] = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="best/worst models in width and training curves")] = 5,
) -> None:
    """Write one self-contained HTML report (plotly.js inlined, opens offline) with every figure of the studies."""
    from backend.services.figures import report_html

    if not out.parent.is_dir():
        fail(f"out: directory {out.parent} does not exist")
    with open_db(db, must_exist=True) as engine:
        page = report_html(engine, study, k=k)
    out.write_text(page, encoding="utf-8")
    print(f"wrote {out} ({len(page) / 1e6:.1f} MB) for {len(study)} stud{'y' if len(study) == 1 else 'ies'}")

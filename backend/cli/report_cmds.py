"""`netspace report --study A [--study B ...] --out report.html`: every analysis figure in one offline page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.services.errors import ServiceError

from .app import app
from .errors import fail


@app.command(name="report")
def report_cmd(
    study: Annotated[list[str], typer.Option(help="study name or id; repeat to overlay several studies")],
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: $NETSPACE_DB or ./netspace.db)")] = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="best/worst models in width and training curves")] = 5,
) -> None:
    """Write one self-contained HTML report (plotly.js inlined, opens offline) with every figure of the studies."""
    from sqlalchemy.engine import make_url

    from backend.services.figures import report_html
    from db.engine import database_url, make_engine
    from db.migrate import upgrade

    if not out.parent.is_dir():
        fail(f"out: directory {out.parent} does not exist")
    url = database_url(db)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_file():
        fail(f"db: no database file at {parsed.database}")
    engine = make_engine(url)
    try:
        upgrade(engine)  # an older database is brought to the current schema, as every command does
        page = report_html(engine, study, k=k)
    except ServiceError as e:
        fail(str(e))
    finally:
        engine.dispose()
    out.write_text(page, encoding="utf-8")
    print(f"wrote {out} ({len(page) / 1e6:.1f} MB) for {len(study)} stud{'y' if len(study) == 1 else 'ies'}")

"""`netspace serve` (the API + dashboard under uvicorn) and `netspace export` (the API's downloads, offline)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from backend.api.settings import Settings
from backend.designspace.units import parse_count
from backend.exporters import EXPORT_FORMATS
from backend.fielderrors import InvalidField
from backend.services.export import export
from backend.services.filters import ModelFilter
from backend.services.studies import find_study

from .app import app
from .db import open_db
from .errors import fail

DbOption = Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: $NETSPACE_DB or ./netspace.db)")]


def is_local_database(db_url: str) -> bool:
    """True when the database lives on this machine (SQLite, or PostgreSQL over loopback or a Unix socket):
    then nobody else is likely to run workers for it, so `serve` starts them by default."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return True
    host = url.host or str(url.query.get("host") or "")
    return not host or host.startswith("/") or is_loopback(host)


def worker_plan(db_url: str, workers: str | None) -> tuple[str, str | None]:
    """What `serve --workers` means for this database: (the workers option to start, the line to print when
    none start). Unset = auto on a local database, none on a remote one (its workers run elsewhere)."""
    if workers not in (None, "auto") and (not workers.isdigit() or not 0 <= int(workers) <= 256):
        raise InvalidField("workers", f"must be auto or a number 0..256, got {workers!r}")
    workers = None if workers is None else str(int(workers)) if workers.isdigit() else workers
    hint = f"start one with `netspace worker --db {_safe_url(db_url)}`"
    if workers is None and not is_local_database(db_url):
        return "0", (f"no local workers: the database is on another host, so queued jobs wait for workers there "
                     f"({hint}, or pass --workers auto)")
    if workers == "0":
        return "0", f"no local workers (--workers 0): queued jobs wait until a worker runs; {hint}"
    return workers or "auto", None


def start_local_workers(db_url: str, workers: str | None) -> list[subprocess.Popen]:
    """`serve --workers auto|N`: start local worker processes on `db_url` and return them.

    auto = one per visible GPU, else one single-threaded CPU worker per core (pool.auto_devices); N = N workers
    spread over the visible devices; 0/None = none. `serve` calls it after migrating the database and stops the
    children (stop_local_workers) when it exits.
    """
    from workers import pool

    if workers in (None, "0"):
        return []
    if workers == "auto":
        return pool.start(db_url, pool.auto_devices())
    devices = pool.visible_devices("auto")
    return pool.start(db_url, [devices[i % len(devices)] for i in range(int(workers))])


def stop_local_workers(procs: list[subprocess.Popen], timeout: float = 60.0) -> None:
    """SIGTERM every child (workers release their jobs), then wait; kill what is still running."""
    from workers import pool

    pool.stop(procs, timeout)


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="bind address (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    workers: Annotated[str | None, typer.Option(
        help="local workers: auto (one per GPU, else one per CPU core), N, or 0; default: auto on a local database "
             "(SQLite, PostgreSQL on this machine), 0 on a remote one")] = None,
    demo: Annotated[bool, typer.Option(help="seed the demo (RegNetX vs AnyNetX_A on digits) if absent")] = False,
    insecure: Annotated[bool, typer.Option(
        help="serve a non-loopback --host without NETSPACE_TOKEN (anyone who reaches the port may write); "
             "also NETSPACE_INSECURE=1")] = False,
) -> None:
    """Serve the dashboard and the REST API (settings from NETSPACE_* variables; --db overrides NETSPACE_DB)."""
    import uvicorn

    from backend.api.app import create_app
    from db.migrate import upgrade

    settings = Settings.from_env(None, bind_host=host, **({"db_url": db} if db else {}))
    _check_exposure(host, settings, insecure or os.environ.get("NETSPACE_INSECURE", "") in ("1", "true", "yes"))
    workers, no_workers = worker_plan(settings.db_url, workers)
    upgrade(settings.db_url)  # before any worker starts, so they find the schema ready
    if demo:
        _seed_demo(settings.db_url)
    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; as SystemExit(0) the `finally` below still
    # stops the local workers (each hands its job back) and the server exits 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    children = start_local_workers(settings.db_url, workers)
    try:
        print(f"netspace on http://{host}:{port} (database {_safe_url(settings.db_url)})", file=sys.stderr)
        print(no_workers or f"{len(children)} local worker{'s' if len(children) != 1 else ''} started "
              "(--workers 0 for none)", file=sys.stderr)
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
    finally:
        stop_local_workers(children)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_exposure(host: str, settings: Settings, insecure: bool) -> None:
    """A server other machines can reach must have a write token, unless the operator says --insecure: then
    it starts with a warning no one can miss (issue 18: compose used to ship the API open, silently)."""
    if settings.token or is_loopback(host):
        return
    if not insecure:
        fail(f"host: {host} is reachable from other machines and NETSPACE_TOKEN is not set, so anyone could "
             "change or delete studies; set NETSPACE_TOKEN (e.g. export NETSPACE_TOKEN=$(openssl rand -hex 24)), "
             "bind --host 127.0.0.1, or pass --insecure")
    banner = "!" * 100
    print(f"{banner}\nWARNING: serving {host} WITHOUT A TOKEN (--insecure): anyone who can reach this port can "
          f"create, change and delete studies and jobs.\nSet NETSPACE_TOKEN to require one.\n{banner}",
          file=sys.stderr)


def _seed_demo(db_url: str) -> None:
    from backend.services.demo import demo_exists, seed_demo
    with open_db(db_url, migrate=False) as engine:  # serve migrated it already
        if demo_exists(engine):
            print("demo studies exist already", file=sys.stderr)
        else:
            out = seed_demo(engine)
            print(f"demo: {out.models} models queued in {len(out.studies)} studies", file=sys.stderr)


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def parse_filters(items: list[str], top: int | None) -> ModelFilter:
    """KEY=VALUE pairs into the API's ModelFilter; range values may use units (400M, 2.5G)."""
    data: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(f"filter: expected KEY=VALUE (e.g. flops_max=400M), got {item!r}")
        if key.endswith(("_min", "_max")):
            data[key] = parse_count(value, key)
        elif key in ("status", "ids"):
            data.setdefault(key, []).append(value)
        else:
            data[key] = value
    if top is not None:
        data["top"] = top
    return ModelFilter.model_validate(data)


@app.command(name="export")
def export_cmd(
    study: Annotated[str, typer.Option(help="study name (or id)")],
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help=" | ".join(EXPORT_FORMATS.entries()))] = "csv",
    filters: Annotated[list[str] | None, typer.Option(
        "--filter", "-f", help="KEY=VALUE as in the API, e.g. flops_max=400M, status=done, d_max=20")] = None,
    top: Annotated[int | None, typer.Option(min=1, help="only the best k by error")] = None,
    sort: Annotated[str | None, typer.Option(help="column, '-' prefix for descending")] = None,
    out: Annotated[Path | None, typer.Option(help="write here (default: stdout; binary formats need a file)")] = None,
) -> None:
    """Write a study's (filtered) models in any export format (GET /api/formats) — as the API does."""
    if fmt not in EXPORT_FORMATS:
        fail(f"format: must be one of {', '.join(EXPORT_FORMATS.entries())} (got {fmt!r})")
    entry = EXPORT_FORMATS.get(fmt)
    if entry.binary and out is None and sys.stdout.isatty():
        fail(f"out: {fmt} writes a binary file; give --out FILE.{entry.extension}")
    flt = parse_filters(filters or [], top)
    with open_db(db, must_exist=True) as engine:
        s = find_study(engine, study)
        result = export(engine, s["id"], flt, fmt, sort)
        stream = out.open("wb") if out else sys.stdout.buffer
        n = 0
        try:
            for chunk in result.chunks:
                stream.write(chunk)
                n += len(chunk)
        finally:
            if out:
                stream.close()
            else:
                stream.flush()
    if out:
        print(f"wrote {out} ({n:,} bytes; suggested name {result.filename})", file=sys.stderr)
    left = result.headers.get("X-Netspace-Left-Out", "0")
    if left != "0":
        print(f"{result.headers.get('X-Netspace-Exported')} models written, {left} left out: "
              f"{result.headers.get('X-Netspace-Left-Out-Reasons')}", file=sys.stderr)

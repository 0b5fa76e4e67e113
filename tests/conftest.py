"""Shared fixtures: reference data, and CI strictness (real services must exist in CI)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DURATIONS = ROOT / "tests" / "durations.json"  # seconds per test file: make durations
REFERENCE = ROOT / "tests" / "data" / "reference"  # vendored public data, provenance in SOURCES.md
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Under pytest-xdist each worker process gets its share of the cores for torch/OpenMP (set before any test imports
# torch; servers, workers and CLI runs started by tests inherit it): two workers that each train on every core
# of a 2-core machine thrash it, slowing both far more than twofold.
_XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
if _XDIST_WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _XDIST_WORKERS)))
# datasets load only from the data roots (NETSPACE_DATA_ROOTS); tests write theirs under the temp dir (tmp_path),
# and servers and workers started by tests inherit this. Tests of the roots themselves set their own.
# no figure pool in the test process (forking pytest, with its threads, at each app start); tests of the pool
# start one explicitly (tests/test_figure_cache.py)
os.environ.setdefault("NETSPACE_FIGURE_PROCS", "0")
os.environ.setdefault("NETSPACE_DATA_ROOTS", os.pathsep.join([str(ROOT), tempfile.gettempdir()]))


def missing_service(message: str) -> None:
    """Skip outside CI, fail loudly in CI: a real part that is missing is never silently skipped there."""
    if IN_CI:
        pytest.fail(f"required service missing in CI: {message}")
    pytest.skip(message)


#: fixtures that give a test a PostgreSQL database (directly, or a server over one)
PG_FIXTURES = {"pg_url", "pg_server", "shared_pg_server"}
#: parametrised fixtures whose "postgresql" parameter is PostgreSQL (db_engine and friends request db_url)
PG_PARAMS = ("db_url", "live_server", "fuzz_schema")
#: fixtures that drive Chromium
BROWSER_FIXTURES = {"browser_page", "playwright_driver", "chromium_browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by what they use, so `-m postgres` / `-m browser` select exactly them: every test that gets a
    PostgreSQL database through a fixture carries `postgres`, every one that drives Chromium `browser`."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if names & PG_FIXTURES or any(params.get(p) == "postgresql" for p in PG_PARAMS):
            item.add_marker(pytest.mark.postgres)
        if names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
    # longest files first (tests/durations.json, scripts/test_durations.py): xdist hands whole files out in this
    # order, so no long file starts last; the tests of one file keep their order (the sort is stable)
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::")[0], 0.0))


#: every test process of the machine (xdist workers, concurrent sessions) shares these: a test that stops the
#: PostgreSQL server (marked `pg_outage`) holds PG_LOCK exclusively, every other PostgreSQL test holds it shared,
#: so no test finds the server gone under it (as test_worker_e2e once did, beside the outage on another worker).
#: A waiting outage test holds the turnstile, which new shared holders pass through: it cannot be starved.
PG_LOCK = Path(tempfile.gettempdir()) / "netspace-tests-postgresql.lock"


@contextlib.contextmanager
def _pg_lock(exclusive: bool) -> Iterator[None]:
    import fcntl

    with open(PG_LOCK, "a") as lock, open(f"{PG_LOCK}.turnstile", "a") as turnstile:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            if not exclusive:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        yield  # closing the files releases both locks


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Hold the PostgreSQL lock over a test's whole protocol (its fixtures' set-up and teardown included, and the
    session's teardown after the last test)."""
    if item.get_closest_marker("pg_outage"):
        with _pg_lock(exclusive=True):
            yield
    elif item.get_closest_marker("postgres") or nextitem is None:
        with _pg_lock(exclusive=False):
            yield
    else:
        yield


@pytest.fixture(scope="session", autouse=True)
def snapshot_dir(tmp_path_factory) -> Path:
    """Population snapshots (services.snapshot) of every test, and of the servers they start, in a temporary
    folder rather than the user's cache directory."""
    folder = tmp_path_factory.mktemp("snapshots")
    os.environ["NETSPACE_SNAPSHOT_DIR"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The reference data is part of the repository: its absence is a broken checkout, never a skip."""
    assert REFERENCE.is_dir(), f"reference data missing from the checkout: {REFERENCE}"
    return REFERENCE


# --------------------------------------------------------------------------------------------------------------
# Databases and live servers (storage/API). Reuse these; every database a test gets is fresh and dropped after.
#
#   sqlite_url        function: URL of a fresh SQLite file in tmp_path (not migrated yet)
#   pg_url            function: URL of a fresh, empty PostgreSQL schema (search_path in the URL); skips locally /
#                     fails in CI when PostgreSQL is down (missing_service)
#   db_url            function, parametrised ["sqlite", "postgresql"]: one of the two above
#   db_engine         function: a migrated (alembic head) Engine on db_url, disposed after
#   server_factory    function: start_server(db_url, log_level="warning", **env) -> LiveServer (a real uvicorn
#                     process on a free port; "info" logs every request); every server it started is stopped at
#                     teardown
#   sqlite_server     module: one LiveServer over a fresh SQLite file, shared by a test module
#   pg_server         module: one LiveServer over a fresh PostgreSQL schema, shared by a test module
#   shared_sqlite_server / shared_pg_server   session: the same, shared by every module that asks (cheaper; use
#                     uniquely named studies and never assume an empty database)
#   live_server       module, parametrised ["sqlite", "postgresql"]: the shared server of each database
#   fresh_pg_schema() context manager behind pg_url, for other scopes;  wait_http(url) polls until a URL answers.
# LiveServer: .url ("http://127.0.0.1:PORT"), .db_url, .client (httpx.Client with base_url), .log (text so far),
# .stop(). Servers run `uvicorn backend.api.app:app_factory --factory` with NETSPACE_DB set, cwd = repo root.

import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402

import httpx  # noqa: E402

PG_URL = os.environ.get("NETSPACE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_connect():
    import psycopg

    return psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                           connect_timeout=3)


@contextlib.contextmanager
def fresh_pg_schema(prefix: str = "nst") -> Iterator[str]:
    """Create an empty schema, yield a SQLAlchemy URL whose search_path is that schema, drop it afterwards.

    Short-lived admin connections (not one held across the yield): a test that restarts the PostgreSQL server
    must not break the clean-up of schemas other fixtures still hold."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with _pg_connect() as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as e:  # any connection failure means the service is missing
        missing_service(f"PostgreSQL not reachable at {PG_URL}: {e}")
    try:
        sep = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with _pg_connect() as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'netspace.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


# Migrated databases are copied from one template per test process instead of migrated each time (alembic takes
# ~0.5 s a database, ~230 tests ask for one): SQLite copies a migrated file (sqlite3's backup API), PostgreSQL
# replays a pg_dump of a migrated schema with the schema's name swapped. Each xdist worker builds its own templates.
# The migrations themselves are still run from scratch wherever a test is about them (test_db_migrations, servers
# and workers starting on fresh databases); test_db_migrations holds the copies to a fresh migration.
_TEMPLATES: dict[str, object] = {}
_PG_TEMPLATE_TOKEN = "netspace_template_schema"


def _sqlite_template() -> Path:
    if "sqlite" not in _TEMPLATES:
        from db.engine import make_engine
        from db.migrate import upgrade

        path = Path(tempfile.mkdtemp(prefix="netspace-template-")) / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        _TEMPLATES["sqlite"] = path
    return _TEMPLATES["sqlite"]  # type: ignore[return-value]


def _pg_template_sql() -> str | None:
    """The DDL and rows of a freshly migrated schema (pg_dump), with the schema's name as _PG_TEMPLATE_TOKEN;
    None without pg_dump (then every database is migrated)."""
    if "postgresql" not in _TEMPLATES:
        import shutil

        from db.migrate import upgrade

        sql = None
        if shutil.which("pg_dump"):
            with fresh_pg_schema("nsttmpl") as url:
                upgrade(url)
                schema = _pg_schema_of(url)
                plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
                dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", "--inserts", "-n", schema, plain],
                                      capture_output=True, text=True, timeout=60, check=True).stdout
            # psql meta-commands (\restrict) and the CREATE SCHEMA (the test's schema exists) are left out
            lines = [line for line in dump.splitlines()
                     if not line.startswith("\\") and not line.startswith(f"CREATE SCHEMA {schema};")]
            sql = "\n".join(lines).replace(f"{schema}.", f"{_PG_TEMPLATE_TOKEN}.")
            assert "alembic_version VALUES" in sql, "pg_dump of the migrated template has no alembic_version row"
        _TEMPLATES["postgresql"] = sql
    return _TEMPLATES["postgresql"]  # type: ignore[return-value]


def _pg_schema_of(url: str) -> str:
    return url.rsplit("search_path%3D", 1)[1].split("&", 1)[0]


def migrated_copy(url: str) -> None:
    """Bring the fresh, empty database at `url` (sqlite_url or pg_url) to alembic head from this process's
    template, or by migrating where there is no template."""
    if url.startswith("sqlite:///"):
        import sqlite3

        target = Path(url.removeprefix("sqlite:///"))
        src, dst = sqlite3.connect(_sqlite_template()), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return
    sql = _pg_template_sql() if "search_path%3D" in url else None
    if sql is None:
        from db.migrate import upgrade

        upgrade(url)
        return
    with _pg_connect() as admin, admin.transaction():
        admin.execute(sql.replace(f"{_PG_TEMPLATE_TOKEN}.", f"{_pg_schema_of(url)}."))


def _migrated_engine(url: str) -> Iterator[object]:
    from db.engine import make_engine

    migrated_copy(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_engine(db_url):
    """A migrated engine, once on SQLite and once on PostgreSQL."""
    yield from _migrated_engine(db_url)


@pytest.fixture
def sqlite_engine(sqlite_url):
    """A migrated engine on a fresh SQLite file (tests that need the file itself, e.g. for worker processes)."""
    yield from _migrated_engine(sqlite_url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers (any status below 500); raise with the reason after `timeout` seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s ({last})")


#: client-side keep-alive shorter than the server's (uvicorn: 5 s), for every test client of a live server
KEEPALIVE = httpx.Limits(keepalive_expiry=1.0)


class LiveServer:
    """A real uvicorn process serving the API on 127.0.0.1 at a free port."""

    def __init__(self, db_url: str, log_dir: Path, env: dict[str, str] | None = None, timeout: float = 60.0,
                 log_level: str = "warning"):
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"uvicorn-{self.port}.log"
        full_env = {**os.environ, "NETSPACE_DB": db_url, **(env or {})}
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.api.app:app_factory", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", log_level, "--timeout-graceful-shutdown", "2"],
            cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_http(f"{self.url}/api/health", timeout, self.proc)
        except Exception as e:
            self.stop()
            raise RuntimeError(f"server did not start: {e}\n{self.log}") from e
        # Drop an idle connection well before uvicorn's 5 s keep-alive timeout does: a request sent on a
        # connection the server is closing at that moment fails with "Server disconnected" (seen on a loaded
        # machine after a several-second CLI import between two requests).
        self.client = httpx.Client(base_url=self.url, timeout=60, limits=KEEPALIVE)

    @property
    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if getattr(self, "client", None) is not None:
            self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@pytest.fixture
def server_factory(tmp_path) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def start(db_url: str, log_level: str = "warning", **env: str) -> LiveServer:
        srv = LiveServer(db_url, tmp_path, env, log_level=log_level)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def _serve(tmp_path_factory, name: str, postgres: bool) -> Iterator[LiveServer]:
    """A LiveServer over a fresh SQLite file or PostgreSQL schema, stopped (and the schema dropped) afterwards."""
    d = tmp_path_factory.mktemp(name)
    with fresh_pg_schema() if postgres else contextlib.nullcontext(f"sqlite:///{d / 'netspace.db'}") as url:
        srv = LiveServer(url, d)
        yield srv
        srv.stop()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory) -> Iterator[LiveServer]:
    yield from _serve(tmp_path_factory, "sqlite_server", postgres=False)


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory) -> Iterator[LiveServer]:
    yield from _serve(tmp_path_factory, "pg_server", postgres=True)


@pytest.fixture(scope="session")
def shared_sqlite_server(tmp_path_factory) -> Iterator[LiveServer]:
    """One server over one SQLite file for the whole session (tests must use their own, uniquely named studies)."""
    yield from _serve(tmp_path_factory, "shared_sqlite_server", postgres=False)


@pytest.fixture(scope="session")
def shared_pg_server(tmp_path_factory) -> Iterator[LiveServer]:
    """One server over one fresh PostgreSQL schema for the whole session (uniquely named studies, as above)."""
    yield from _serve(tmp_path_factory, "shared_pg_server", postgres=True)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_server(request) -> LiveServer:
    """The session's shared SQLite server, then its PostgreSQL one: API tests written once run on both databases
    (starting two servers per session, not per module)."""
    return request.getfixturevalue("shared_sqlite_server" if request.param == "sqlite" else "shared_pg_server")


# --------------------------------------------------------------------------------------------------------------
# Browser (dashboard tests): Python Playwright driving Debian's Chromium (`playwright install` is not used).
#
#   chromium_browser  session: one Chromium process per test process (per xdist worker)
#   browser_page      function: (page, console) — a fresh browser context (its own cookies, storage and cache, as a
#                     fresh profile); `console` records every console
#                     error and page error; console.assert_clean() fails the test on any (expected HTTP error
#                     responses can be allowed with `with console.allow_http(status, "path part"):`)
#   open_browser(chromium_browser) -> (context, page, console) for other scopes
#   screenshot(page, name)  saves artifacts/screenshots/<name>.png (artifacts/ is git-ignored)

CHROMIUM = Path(os.environ.get("NETSPACE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]
ARTIFACTS = ROOT / "artifacts"


class ConsoleGuard:
    """Collects console errors and uncaught page errors; HTTP error responses a test expects can be allowed."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self._allowed: list[tuple[int, str]] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _on_console(self, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        for status, part in self._allowed:
            expected = f"status of {status}" if isinstance(status, int) else status
            if expected in msg.text and part in url:
                return
        self.errors.append(f"console error: {msg.text} ({url})")

    @contextlib.contextmanager
    def allow_http(self, status: int | str, path_part: str) -> Iterator[None]:
        """Within the block, a failed-resource message for `status` on a URL containing `path_part` is expected;
        `status` may also be a network error text such as "net::ERR_CONNECTION_REFUSED"."""
        self._allowed.append((status, path_part))
        try:
            yield
        finally:
            self._allowed.remove((status, path_part))

    def assert_clean(self) -> None:
        assert not self.errors, "browser console errors:\n" + "\n".join(self.errors)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    if not CHROMIUM.exists():
        missing_service(f"Chromium not found at {CHROMIUM} (Debian package 'chromium')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("the Python playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium_browser(playwright_driver) -> Iterator[object]:
    """One Chromium launch per test process; each test gets its own context. A context is as isolated as a fresh
    profile (cookies, localStorage, cache) and costs ~1 s less than launching Chromium per test."""
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def open_browser(browser):
    """A fresh browser context: (context, page, ConsoleGuard); close the context when done."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    # patience, not a latency bound (tests that promise a latency assert it themselves): once, in a full run,
    # an export button of a settled page took over 20 s to count as 'stable' for a click beside another
    # worker's heavy tests; it passed alone and in its file
    ctx.set_default_timeout(45_000)
    page = ctx.new_page()
    return ctx, page, ConsoleGuard(page)


@pytest.fixture
def browser_page(chromium_browser) -> Iterator[tuple[object, ConsoleGuard]]:
    ctx, page, guard = open_browser(chromium_browser)
    try:
        yield page, guard
    finally:
        ctx.close()


def screenshot(page, name: str) -> Path:
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def finish_jobs(db_url: str, study_id: int, errors: list[float], **result) -> list[int]:
    """Finish queued jobs of a study exactly as a worker does (register, claim, complete) with the given errors,
    without training: for tests of what happens *after* training. Returns the finished model ids."""
    from db.engine import make_engine
    from db.queue import claim_job, complete_job, register_worker

    engine = make_engine(db_url)
    try:
        wid = register_worker(engine, "cpu", worker_id=f"test-worker-{uuid.uuid4().hex[:6]}")
        done = []
        for e in errors:
            job = claim_job(engine, wid, study_id=study_id)
            assert job is not None, "no queued job left to finish"
            values = {"error": e, "test_error": [e + 1.0, e], "train_seconds": 0.5, "infer_ms": 1.25, **result}
            assert complete_job(engine, job.job_id, wid, values)
            done.append(job.model_id)
        return done
    finally:
        engine.dispose()


def wait_figures(page, selector: str = "main .plot-card .plot[id^=fig-], main .plot-card .plot[id^=cmp-]") -> None:
    """Every server figure on the page finished loading (data-loaded is a count, or 'error'); figures load when
    they come into view, so each is scrolled to first."""
    plots = page.locator(selector)
    for i in range(plots.count()):
        plots.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("d => d.dataset.loaded && d.dataset.loaded !== '0'", arg=plots.nth(i).element_handle())
    failed = page.eval_on_selector_all(selector, "ds => ds.filter(d => d.dataset.loaded === 'error').map(d => d.id)")
    assert not failed, f"figures failed: {failed}: " + " | ".join(page.locator(".plot-status.error").all_inner_texts())


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """The CLI's real entry point (backend.cli.main.main) in-process: (exit code, stdout, stderr)."""
    from backend.cli.main import main

    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = e.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def wait_edf_n(page, n: int, timeout: float = 20_000) -> None:
    """The server's EDF (redrawn after a change, once on screen) has a legend entry with n=<n>."""
    page.locator("#fig-edf").scroll_into_view_if_needed()
    page.wait_for_function("n => [...document.querySelectorAll('#fig-edf .legendtext')]"
                           ".some(t => t.textContent.includes(`n=${n}`))", arg=n, timeout=timeout)

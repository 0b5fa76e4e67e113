"""The FastAPI application: `create_app(settings)`, and `app_factory()` for `uvicorn --factory`.

    uvicorn backend.api.app:app_factory --factory      # settings from NETSPACE_* environment variables

On start the database is migrated to alembic head; while running, a maintenance task requeues jobs whose
lease expired (even when no worker is left to do it) and prunes old events, and the columns of the largest
recent studies are read into the cache in the background (the first page open after a restart is not cold).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from backend import __version__
from backend.services import columns, snapshot
from backend.services import figures as figure_service
from db.engine import make_engine
from db.events import prune_events
from db.migrate import upgrade
from db.queue import requeue_expired

from . import errors
from .auth import TokenAuth
from .guard import SiteGuard
from .limits import BodyLimit
from .routes import (
    catalog,
    demo,
    events,
    figures,
    frontend,
    health,
    importing,
    jobs,
    models,
    notes,
    population,
    refine,
    spacecheck,
    spaces,
    studies,
)
from .settings import Settings
from .textguard import NulGuard
from .tickets import StreamTickets, install_log_filter
from .timing import ServerTiming

log = logging.getLogger("netspace.api")
#: database connections the server keeps open. SQLAlchemy's default (5 kept, 10 more opened and closed per use)
#: made 50 dashboard readers open a connection for most requests beyond the fifth (SQLite: a connect and seven
#: PRAGMAs; PostgreSQL: a new backend process) and queue for one; 20 kept covers the threadpool's busy share
#: (figure builds have threads of their own, routes/figures.py), and 20 more absorb a burst
POOL = {"pool_size": 20, "max_overflow": 20}
#: how long a thread holding the GIL runs before one waiting for it may take over (Python's default: 5 ms). Every
#: database call releases the GIL and takes it back, so under 50 readers a thread re-taking it after each round
#: trip waited up to 5 ms behind whichever thread was drawing; at 1 ms the soak's p99 fell from 0.73 s to 0.31 s
#: at the same server CPU per request (bench/dashboard_soak_bench.py)
GIL_SWITCH_S = 0.001


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    engine = make_engine(settings.db_url, **POOL)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate:
            await run_in_threadpool(upgrade, engine)
        sys.setswitchinterval(GIL_SWITCH_S)
        figure_service.start_pool()  # forked before any request or warming thread runs (see start_pool)
        tasks = [asyncio.create_task(_maintenance(engine, settings.maintenance_seconds))]
        if settings.warm_studies:
            tasks.append(asyncio.create_task(_warm(engine, settings.warm_studies)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            snapshot.flush(10)  # a snapshot half written is thrown away: finish the one in flight
            engine.dispose()

    app = FastAPI(title="netspace", version=__version__, lifespan=lifespan,
                  description="Design network design spaces: studies, samples, jobs, results.")
    app.state.settings = settings
    app.state.engine = engine
    app.state.tickets = StreamTickets(settings.token, settings.read_token)
    install_log_filter()
    errors.install(app)
    # the resources, then the dashboard's own endpoints (columnar population, demo, spec check), the analysis
    # figures as Plotly JSON, and design-space design (refine a study, lineage, space size)
    for r in (health, spaces, catalog, importing, studies, models, jobs, events, population, demo, spacecheck, figures,
              refine, notes):
        app.include_router(r.router, responses=errors.ERROR_RESPONSES)
    frontend.mount(app, settings.frontend_dir)
    app.add_middleware(NulGuard)  # inside BodyLimit: a JSON body it reads whole is bounded first
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_mb << 20)
    app.add_middleware(TokenAuth, token=settings.token, read_token=settings.read_token, tickets=app.state.tickets)
    # outermost but CORS: a forged Host or a cross-site write is refused before anything else looks at it
    app.add_middleware(SiteGuard, allowed_hosts=settings.allowed_hosts, bind_host=settings.bind_host,
                       cors_origins=settings.cors_origins, token=settings.token)
    app.add_middleware(ServerTiming)  # the whole time in this app, guards included
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID"])
    return app


async def _maintenance(engine, every: float) -> None:
    """Requeue expired leases and prune events, forever; a failing round is logged and retried."""
    while True:
        try:
            await run_in_threadpool(requeue_expired, engine)
            await run_in_threadpool(prune_events, engine)
        except Exception:  # the database may be restarting; try again next round
            log.exception("maintenance round failed")
        await asyncio.sleep(every)


async def _warm(engine, limit: int) -> None:
    """Gzip plotly.js and read the largest recent studies' columns into the cache while the server waits for its
    first visitor."""
    try:
        await run_in_threadpool(frontend.plotly_gzip)
        warmed = await run_in_threadpool(columns.warm, engine, limit)
        log.info("warmed the columns of studies %s", warmed)
    except Exception:  # only a head start: the first request reads them itself
        log.exception("warming study columns failed")


def app_factory() -> FastAPI:
    """For `uvicorn --factory`: settings from the environment."""
    return create_app(Settings.from_env())

"""Request dependencies: the app's engine and settings (set on app.state by create_app).

`async def`, though they only read an attribute: FastAPI runs a plain `def` dependency on the threadpool, so
every request paid a thread hand-off (and a wait for a free thread when builds held them) just to be given
the engine."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from .settings import Settings


async def engine(request: Request) -> Engine:
    return request.app.state.engine


async def settings(request: Request) -> Settings:
    return request.app.state.settings

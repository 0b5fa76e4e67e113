"""Request dependencies: the app's engine and settings (set on app.state by create_app)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from .settings import Settings


def engine(request: Request) -> Engine:
    return request.app.state.engine


def settings(request: Request) -> Settings:
    return request.app.state.settings

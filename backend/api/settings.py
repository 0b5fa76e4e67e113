"""Server settings, from the environment (NETSPACE_*) or given directly to create_app()."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from backend.fielderrors import InvalidField
from db.engine import DEFAULT_URL

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """db_url: any SQLAlchemy URL (NETSPACE_DB). token: required as `Authorization: Bearer` on every write
    (NETSPACE_TOKEN); read_token: also required on /api reads (NETSPACE_READ_TOKEN; the write token works for
    reads too). max_n: most samples one request may queue (NETSPACE_MAX_N). cors_origins: comma-separated
    origins allowed cross-site (NETSPACE_CORS_ORIGINS; off by default). maintenance_seconds: how often the server
    requeues expired leases and prunes events (NETSPACE_MAINTENANCE_SECONDS). warm_studies: how many of the newest
    large studies have their dashboard columns read at start (NETSPACE_WARM_STUDIES; 0 = none). allowed_hosts: host
names (besides loopback names and IP literals) this server answers to, `*` for any (NETSPACE_ALLOWED_HOSTS;
backend/api/guard.py); bind_host: the address `netspace serve` bound, a name the server answers to as well."""

    db_url: str = DEFAULT_URL
    token: str | None = None
    read_token: str | None = None
    max_n: int = 10_000
    max_upload_mb: int = 512
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    bind_host: str | None = None
    frontend_dir: Path = field(default_factory=lambda: ROOT / "frontend")
    maintenance_seconds: float = 10.0
    events_poll_seconds: float = 0.5
    migrate: bool = True
    warm_studies: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if env.get("NETSPACE_DB"):
            values["db_url"] = env["NETSPACE_DB"]
        for key, name in (("token", "NETSPACE_TOKEN"), ("read_token", "NETSPACE_READ_TOKEN")):
            if env.get(name):
                values[key] = env[name]
        if env.get("NETSPACE_MAX_N"):
            try:
                values["max_n"] = int(env["NETSPACE_MAX_N"])
            except ValueError:
                raise InvalidField("NETSPACE_MAX_N", f"must be an integer (got {env['NETSPACE_MAX_N']!r})") from None
            if values["max_n"] < 1:
                raise InvalidField("NETSPACE_MAX_N", f"must be >= 1 (got {values['max_n']})")
        if env.get("NETSPACE_MAX_UPLOAD_MB"):
            values["max_upload_mb"] = _positive_int(env, "NETSPACE_MAX_UPLOAD_MB")
        if env.get("NETSPACE_WARM_STUDIES"):
            values["warm_studies"] = _positive_int(env, "NETSPACE_WARM_STUDIES", allow_zero=True)
        if env.get("NETSPACE_MAINTENANCE_SECONDS"):
            values["maintenance_seconds"] = float(env["NETSPACE_MAINTENANCE_SECONDS"])
        for key, name in (("cors_origins", "NETSPACE_CORS_ORIGINS"), ("allowed_hosts", "NETSPACE_ALLOWED_HOSTS")):
            if env.get(name):
                values[key] = tuple(o.strip() for o in env[name].split(",") if o.strip())
        if env.get("NETSPACE_FRONTEND"):
            values["frontend_dir"] = Path(env["NETSPACE_FRONTEND"])
        return replace(cls(**values), **overrides)


def _positive_int(env: Mapping[str, str], name: str, allow_zero: bool = False) -> int:
    try:
        value = int(env[name])
    except ValueError:
        raise InvalidField(name, f"must be an integer (got {env[name]!r})") from None
    low = 0 if allow_zero else 1
    if value < low:
        raise InvalidField(name, f"must be >= {low} (got {value})")
    return value

"""The user's cache folder for netspace: $XDG_CACHE_HOME/netspace, else ~/.cache/netspace. What lives there can be
rebuilt from elsewhere at any time (population snapshots of PostgreSQL databases, plotly.js gzipped)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "netspace"

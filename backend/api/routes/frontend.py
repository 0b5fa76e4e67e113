"""The front end: GET / (frontend/index.html), /static/* (frontend/), and Plotly from the plotly package."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import importlib.util
import os
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.cachedir import cache_dir

PLACEHOLDER = """<!doctype html><meta charset="utf-8"><title>netspace</title>
<h1>netspace</h1><p>The front end is not installed here; the API is at <a href="/docs">/docs</a>.</p>"""


def plotly_js() -> Path | None:
    """plotly.min.js bundled with the plotly Python package (served offline, no CDN)."""
    spec = importlib.util.find_spec("plotly")
    bases = list(spec.submodule_search_locations or []) if spec else []
    for base in bases:
        p = Path(base) / "package_data" / "plotly.min.js"
        if p.is_file():
            return p
    return None


@functools.cache
def plotly_gzip() -> bytes | None:
    """plotly.min.js gzipped (4.8 MB -> ~1.4 MB): the first page open waits for this download before the browser
    can start compiling it, its longest step. The server makes it at start (app._warm). Compressing costs ~0.2 s
    of CPU at every start, so it is kept in the cache folder, named by the file's path, size and mtime."""
    p = plotly_js()
    if p is None:
        return None
    st = p.stat()
    key = hashlib.sha1(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    kept = cache_dir() / "plotly" / f"plotly-{key}.min.js.gz"
    with contextlib.suppress(OSError):
        data = kept.read_bytes()
        if len(data) > 18 and int.from_bytes(data[-4:], "little") == st.st_size % 2**32:  # gzip's size trailer
            return data
    data = gzip.compress(p.read_bytes(), compresslevel=6, mtime=0)
    with contextlib.suppress(OSError):  # a read-only home only costs the compression at each start
        kept.parent.mkdir(parents=True, exist_ok=True)
        part = kept.with_name(f"{kept.name}.{os.getpid()}.part")
        part.write_bytes(data)
        os.replace(part, kept)  # whole or absent: concurrent starts never read half a file
    return data


def mount(app: FastAPI, frontend_dir: Path) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def index():
        page = frontend_dir / "index.html"
        return FileResponse(page, media_type="text/html") if page.is_file() else HTMLResponse(PLACEHOLDER)

    @router.get("/static/vendor/plotly.min.js")
    def plotly(request: Request):
        p = plotly_js()
        if p is None:
            return HTMLResponse("plotly is not installed", status_code=404)
        headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(plotly_gzip(), media_type="text/javascript",
                            headers={**headers, "Content-Encoding": "gzip"})
        return FileResponse(p, media_type="text/javascript", headers=headers)

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=frontend_dir, check_dir=False), name="static")

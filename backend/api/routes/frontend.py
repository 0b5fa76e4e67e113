"""The front end: GET / (frontend/index.html), /static/* (frontend/), and Plotly from the plotly package."""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

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
    """plotly.min.js gzipped once per process (4.8 MB -> ~1.4 MB): the first page open waits for this download
    before the browser can start compiling it, its longest step. The server makes it at start (app._warm)."""
    p = plotly_js()
    return None if p is None else gzip.compress(p.read_bytes(), compresslevel=6, mtime=0)


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

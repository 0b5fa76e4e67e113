"""Issue 18, item 2: a server killed with -9 in the middle of a large import (as the OOM killer does) leaves no
converter process behind, frees its port at once, and leaves no transaction open: a second import of the same
name succeeds. Real server, real upload over HTTP, real PostgreSQL; the converters are the server's own forked
children."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from backend.forkpool import can_fork, default_workers
from backend.services.importing import PARALLEL_MIN_RECORDS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not can_fork() or default_workers() < 2, reason="converters are forked processes")]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie nobody reaped (this container's init may not reap)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _holds_socket(pid: int) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def test_killing_the_server_mid_import_leaves_no_converter_and_no_lock(server_factory, pg_url, reference_dir):
    srv = server_factory(pg_url)
    runs = json.loads((reference_dir / "nds" / "ResNeXt-A_in.json").read_text())
    big = json.dumps([runs[i % len(runs)] for i in range(int(PARALLEL_MIN_RECORDS * 1.5))])

    def upload() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
            httpx.post(f"{srv.url}/api/studies/import", files={"file": ("ResNeXt-A_in.json", big)},
                       data={"study": "orphans"}, timeout=300)

    uploader = threading.Thread(target=upload, daemon=True)
    uploader.start()
    converters: list[int] = []
    deadline = time.monotonic() + 120
    while len(converters) < 2 and time.monotonic() < deadline and uploader.is_alive():
        converters = _children(srv.proc.pid)
        time.sleep(0.02)
    assert len(converters) >= 2, "the import never started its converters"
    time.sleep(0.5)  # well into the conversion: chunks are being written in the import's transaction
    try:
        held = [p for p in converters if _holds_socket(p)]
        assert not held, f"converters hold the server's sockets (listener, clients, database): {held}"
        assert srv.client.get("/api/health").status_code == 200  # (the server answers meanwhile)
        srv.proc.kill()
        srv.proc.wait(10)
        end = time.monotonic() + 10
        while any(map(_alive, converters)) and time.monotonic() < end:
            time.sleep(0.05)
        left = [p for p in converters if _alive(p)]
        assert not left, f"converters outlived the server: {left} (sockets held: {list(map(_holds_socket, left))})"
        with socket.socket() as s:  # uvicorn binds the same way: SO_REUSEADDR, so only a live listener blocks
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", srv.port))
            s.listen()
        again = server_factory(pg_url)
        small = json.dumps(runs[:25])
        r = httpx.post(f"{again.url}/api/studies/import", files={"file": ("ResNeXt-A_in.json", small)},
                       data={"study": "orphans"}, timeout=30)  # blocked forever behind an orphan's transaction
        assert r.status_code == 201, r.text
        assert r.json()["imported"] == 25
        assert [s["name"] for s in again.client.get("/api/studies").json()] == ["orphans"]
    finally:
        for pid in converters:  # before the fix they lived on; never leave them to the rest of the session
            if _alive(pid):
                subprocess.run(["kill", "-9", str(pid)], check=False)
        uploader.join(5)

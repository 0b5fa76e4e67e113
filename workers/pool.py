"""Several worker processes on one host: K per visible GPU (or per named device), supervised together.

Small models do not fill a GPU (see bench/GPU_CHECK_RESULTS.md: 4 workers on one H200 train 3.2x more
models per hour than one), so `--per-device K` runs K independent worker processes per device. Each child
is a full worker with its own lease; the parent only forwards SIGTERM and waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from backend.forkpool import default_workers


def visible_devices(device: str) -> list[str]:
    """'auto' -> every visible GPU, else the CPU; anything else is used as given."""
    if device != "auto":
        return [device]
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [f"cuda:{i}" for i in range(n)] or ["cpu"]


#: at most this many CPU workers from `auto` (each holds its model and data in memory)
MAX_AUTO_CPU_WORKERS = 8


def auto_devices() -> list[str]:
    """What `serve --workers auto` starts: one worker per visible GPU; without one, one single-threaded CPU
    worker per core. Small CPU-scale models train faster side by side, one per core, than one at a time on
    threads that spend the small kernels synchronising (the demo's 48 models: see docs/proxy-recipe.md)."""
    devices = visible_devices("auto")
    if devices != ["cpu"]:
        return devices
    return ["cpu"] * max(1, min(default_workers(), MAX_AUTO_CPU_WORKERS))


def plan(device: str, per_device: int) -> list[str]:
    return [d for d in visible_devices(device) for _ in range(per_device)]


def worker_command(db_url: str, device: str, extra: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "backend.cli", "worker", "--db", db_url, "--device", device, *extra]


def child_env(n_cpu_workers: int) -> dict[str, str]:
    """CPU workers share the cores instead of each spinning a thread per core."""
    env = dict(os.environ)
    if n_cpu_workers > 1:
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // n_cpu_workers)))
    return env


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when its parent dies (even by kill -9), so no worker is orphaned."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start(db_url: str, devices: list[str], extra: Sequence[str] = (), **popen: Any) -> list[subprocess.Popen[bytes]]:
    env = child_env(sum(d == "cpu" for d in devices))
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    return [subprocess.Popen(worker_command(db_url, d, extra), env=env, preexec_fn=preexec, **popen)
            for d in devices]


def stop(procs: list[subprocess.Popen], timeout: float = 60.0) -> None:
    """SIGTERM every child (each releases its job back to the queue), wait, then kill stragglers."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def supervise(db_url: str, devices: list[str], extra: Sequence[str] = ()) -> int:
    """Run the children until they all exit; SIGTERM/SIGINT are passed on. Returns the worst exit code."""
    procs = start(db_url, devices, extra)

    def forward(signum: int, _frame: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max((p.wait() for p in procs), default=0)

"""Dashboard soak: 50 readers of a 20,000-model study, at rest and while 2 workers train, on SQLite and PostgreSQL.

What the dashboard must stand (issue 15): people watch it while the fleet trains. Per database, one real uvicorn
server over a 20k-model study (bench/population_fixture.py: real sampled configs, synthetic results) and two
phases of the same length, side by side in one run:

- at rest: 50 readers (one asyncio aiohttp client process, loopback, no pause between requests) loop over the
  study's figure endpoints (EDF, normalised EDF, scatter, complexity, statistics), its first /models page and
  /api/health;
- under writes: the same readers while 2 worker processes train another study of the same database the way a
  worker writes (claim, an epoch event per epoch, complete with a result; the "training" is a 0.1-0.3 s sleep
  per epoch, so the writes come far faster than real training would make them and eat no CPU the server needs).

Printed per database and phase: requests, errors, p50/p99 of the figure endpoints (all kinds together), /models
and /health p99 as the readers saw them and as the server's own Server-Timing header says (the rest is time queued
outside the app, mostly for a share of the 2 cores), and the ratio "under writes / at rest" of the figure p50,
with the load average at the start and end of each phase (the machine may be shared: read the figures with it),
and the server's CPU time per request (its own process, from /proc): with 50 readers in a closed loop a
request's latency is about 50 times the CPU a request costs (server and client) over the cores the two get, so
on a machine shared with other work the latencies follow the load while the CPU per request is the figure a
change to the server moves.

    python -m bench.dashboard_soak_bench [SECONDS]   # per phase; default $NETSPACE_DASHBOARD_SOAK_SECONDS or 180
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import aiohttp
import httpx

from bench.live_server import start_server, stop_server
from bench.pg_scratch import scratch_schema
from bench.soak_bench import pct

READERS = 50
WRITERS = 2
MODELS = 20_000
SECONDS = 180.0
FIGURES = {
    "edf": {}, "edf_normalized": {}, "scatter": {"param": "flops"}, "complexity": {}, "stats": {},
}
PATHS = [*((f"figure {k}", f"/api/studies/{{id}}/figures/{k}", p) for k, p in FIGURES.items()),
         ("models", "/api/studies/{id}/models", {"limit": 100}), ("health", "/api/health", {})]
Row = tuple[str, float, str]
#: endpoint -> (seconds seen by the reader, seconds in the server by its Server-Timing header) per request
Latencies = dict[str, list[tuple[float, float]]]


def trainer(db_url: str, study_id: int, deadline: float, seed: int) -> int:
    """One worker's write pattern on `study_id` until the deadline; returns the jobs it completed."""
    from db import queue
    from db.engine import make_engine

    rng = random.Random(seed)
    engine = make_engine(db_url)
    wid = queue.register_worker(engine, "fake")
    done = 0
    while time.time() < deadline:
        job = queue.claim_job(engine, wid, study_id=study_id, lease_seconds=60)
        if job is None:
            time.sleep(0.2)
            continue
        curve = []
        for epoch in range(1, 4):
            time.sleep(rng.uniform(0.1, 0.3))
            curve.append(rng.uniform(20, 90))
            queue.record_epoch(engine, job.job_id, wid, {"epoch": epoch, "test_error": curve[-1]})
        done += queue.complete_job(engine, job.job_id, wid, {"test_error": curve, "train_loss": curve,
                                                             "train_seconds": 0.6, "device": "fake"})
    queue.unregister_worker(engine, wid)
    engine.dispose()
    return done


def setup(db_url: str) -> tuple[int, int]:
    """(the 20k-model study read, a study with queued jobs for the trainers)."""
    from backend.services.sampling import queue_samples
    from backend.services.studies import StudyIn, create_study
    from bench.population_fixture import build_study
    from db.engine import make_engine
    from db.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    read = build_study(engine, "watched", MODELS)["study_id"]
    trained = create_study(engine, StudyIn(name="training", space="RegNetX", dataset={"name": "digits"}))["id"]
    queue_samples(engine, trained, 2_000, seed=1)
    engine.dispose()
    return read, trained


async def reader(session: aiohttp.ClientSession, sid: int, deadline: float, lat: Latencies, errors: list,
                 i: int) -> None:
    k = i
    while time.time() < deadline:
        name, path, params = PATHS[k % len(PATHS)]
        k += 1
        t0 = time.perf_counter()
        try:
            async with session.get(path.format(id=sid), params=params) as r:
                body = await r.read()
                if r.status != 200:
                    errors.append(f"{name}: {r.status} {body[:200]!r}")
                    continue
                timing = r.headers.get("server-timing", "")
        except aiohttp.ClientError as e:
            errors.append(f"{name}: {e!r}")
            continue
        lat.setdefault(name, []).append((time.perf_counter() - t0, server_seconds(timing)))


def server_seconds(header: str) -> float:
    """The server's own time from its Server-Timing header (`app;dur=<ms>`, backend/api/timing.py)."""
    _, _, dur = header.partition("dur=")
    return float(dur) / 1000 if dur else float("nan")


async def read_for(url: str, sid: int, seconds: float) -> tuple[Latencies, list[str]]:
    lat: Latencies = {}
    errors: list[str] = []
    deadline = time.time() + seconds
    # aiohttp, not httpx: measured here, httpx's client spent 3.3 ms of CPU per request against the server's 2.2
    # ms, so on 2 shared cores the readers' own queue was most of every latency; aiohttp spends 0.3 ms. Idle
    # connections are closed by the client (2 s) before uvicorn's 5 s keep-alive timeout closes them: at equal
    # timeouts a request sent on a connection the server is closing fails, an artefact of the harness
    connector = aiohttp.TCPConnector(limit=READERS + 5, keepalive_timeout=2.0)
    async with aiohttp.ClientSession(base_url=url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(reader(session, sid, deadline, lat, errors, i) for i in range(READERS)))
    return lat, errors


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase(url: str, sid: int, seconds: float, label: str, server_pid: int) -> dict[str, float]:
    """One phase's figures: per endpoint group, p50/p99 as the readers saw them and p99 of the server's own time
    (its Server-Timing header): the difference is time queued outside the app — in uvicorn's socket handling,
    the kernel and the readers' own process, which share the 2 cores."""
    start, cpu0 = load(), cpu_seconds(server_pid)
    lat, errors = asyncio.run(read_for(url, sid, seconds))
    groups = {"figure": [x for name, v in lat.items() if name.startswith("figure") for x in v],
              "models": lat.get("models", []), "health": lat.get("health", [])}
    out: dict[str, float] = {"requests": sum(map(len, lat.values())), "errors": len(errors)}
    for g, v in groups.items():
        seen, served = [x for x, _ in v], [y for _, y in v]
        out |= {f"{g} p50": pct(seen, 50), f"{g} p99": pct(seen, 99), f"{g} server p99": pct(served, 99)}
    out["server cpu per request"] = (cpu_seconds(server_pid) - cpu0) / max(out["requests"], 1) * 1000
    print(f"  {label:<13} requests {out['requests']:,} errors {out['errors']}  figures p50 {out['figure p50']:.1f} "
          f"p99 {out['figure p99']:.1f} ms  /models p99 {out['models p99']:.1f} ms  /health p99 "
          f"{out['health p99']:.1f} ms  server CPU {out['server cpu per request']:.1f} ms/request "
          f"(load {start} -> {load()})")
    if errors:
        print(f"    first error: {errors[0]}")
    for name, v in sorted(lat.items()):
        seen, served = [x for x, _ in v], [y for _, y in v]
        print(f"    {name:<22} n={len(v):6d}  p50 {pct(seen, 50):8.1f} ms  p99 {pct(seen, 99):8.1f} ms   "
              f"in the server: p50 {pct(served, 50):7.1f} ms  p99 {pct(served, 99):7.1f} ms")
    return out


def measure(db_url: str, label: str, seconds: float) -> list[Row]:
    t0 = time.perf_counter()
    sid, trained = setup(db_url)
    print(f"{label}: {MODELS:,}-model study built in {time.perf_counter() - t0:.0f} s; {READERS} readers, "
          f"{seconds:.0f} s at rest then {seconds:.0f} s with {WRITERS} workers training another study")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(db_url, Path(tmp) / "uvicorn.log", env={"NETSPACE_SNAPSHOT_DIR": str(tmp)})
        try:
            for _, path, params in PATHS:  # the first build of each figure is the cold case, not this benchmark
                httpx.get(url + path.format(id=sid), params=params, timeout=300).raise_for_status()
            rest = phase(url, sid, seconds, "at rest", proc.pid)
            deadline = time.time() + seconds
            with ProcessPoolExecutor(WRITERS, mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(trainer, db_url, trained, deadline, i) for i in range(WRITERS)]
                busy = phase(url, sid, seconds, "under writes", proc.pid)
                jobs = sum(f.result() for f in futures)
        finally:
            stop_server(proc)
    ratio = busy["figure p50"] / rest["figure p50"]
    print(f"  {jobs} jobs trained meanwhile; figure p50 under writes / at rest: {ratio:.2f}")
    rows: list[Row] = []
    for name, got in (("at rest", rest), ("under writes", busy)):
        rows += [(f"dashboard soak {label} {name}: errors", got["errors"], "count"),
                 (f"dashboard soak {label} {name}: figure p50", got["figure p50"], "ms"),
                 (f"dashboard soak {label} {name}: figure p99", got["figure p99"], "ms"),
                 (f"dashboard soak {label} {name}: /models p99", got["models p99"], "ms"),
                 (f"dashboard soak {label} {name}: /health p99", got["health p99"], "ms"),
                 (f"dashboard soak {label} {name}: figure p99 in the server", got["figure server p99"], "ms"),
                 (f"dashboard soak {label} {name}: /models p99 in the server", got["models server p99"], "ms"),
                 (f"dashboard soak {label} {name}: /health p99 in the server", got["health server p99"], "ms"),
                 (f"dashboard soak {label} {name}: server CPU per request", got["server cpu per request"], "ms")]
    rows.append((f"dashboard soak {label}: figure p50 under writes / at rest", ratio, "x"))
    return rows


def main(argv: list[str] | None = None) -> list[Row]:
    argv = sys.argv[1:] if argv is None else argv
    seconds = float(argv[0]) if argv else float(os.environ.get("NETSPACE_DASHBOARD_SOAK_SECONDS", SECONDS))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure(f"sqlite:///{Path(tmp) / 'soak.db'}", "SQLite", seconds)
    with scratch_schema("dsoak") as url:
        if url is not None:
            rows += measure(url, "PostgreSQL", seconds)
    return rows


if __name__ == "__main__":
    main()

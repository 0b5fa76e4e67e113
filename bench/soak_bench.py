"""Soak: 50 concurrent readers against a real uvicorn server while 8 worker processes write results to PostgreSQL.

Readers (one asyncio client process, loopback only): 45 loop over `/api/studies/{id}/models` (first page, top-100
by error, a flops-filtered page) and the figure endpoints (EDF, scatter, complexity); 5 hold `/api/events`
streams open and count what arrives. Writers: 8 processes that use db.queue directly (register, claim, *fake*
"training" = sleep 50-150 ms, complete with a synthetic result), so the database sees a real worker's write
pattern at ~50 jobs/s without real training eating the CPU the readers and the server need. Printed: requests
and errors, p50/p99 latency per endpoint group, jobs done, jobs lost (claimed but not done) and done twice
(must both be 0), server RSS at start and end.

    python -m bench.soak_bench [SECONDS]      # default 60 s (NETSPACE_SOAK_SECONDS); the issue's soak is 300
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import httpx

from bench.live_server import start_server, stop_server
from bench.pg_scratch import scratch_schema

WRITERS = 8
READERS = 45
STREAMS = 5
JOBS_PER_SECOND = 60  # more than 8 writers can finish, so the queue never runs dry during the soak
READ_PATHS = {
    "models page": ("/api/studies/{id}/models", {"limit": 100}),
    "models top-100": ("/api/studies/{id}/models", {"top": 100}),
    "models filtered": ("/api/studies/{id}/models", {"flops_min": 1e9, "limit": 50}),
    "figure edf": ("/api/studies/{id}/figures/edf", {}),
    "figure scatter": ("/api/studies/{id}/figures/scatter", {"param": "flops"}),
    "figure complexity": ("/api/studies/{id}/figures/complexity", {}),
}


def writer(db_url: str, deadline: float, seed: int) -> tuple[list[int], int]:
    """One fake worker process: claim, 'train' briefly, complete, until the deadline; returns completed job ids
    and how many completions the queue refused (a refused completion means the job was taken away)."""
    from db import queue
    from db.engine import make_engine

    rng = random.Random(seed)
    engine = make_engine(db_url)
    wid = queue.register_worker(engine, "fake")
    done, refused = [], 0
    while time.time() < deadline:
        job = queue.claim_job(engine, wid, lease_seconds=60)
        if job is None:
            time.sleep(0.2)
            continue
        time.sleep(rng.uniform(0.05, 0.15))
        curve = [rng.uniform(20, 90) for _ in range(3)]
        if queue.complete_job(engine, job.job_id, wid, {"test_error": curve, "train_loss": curve,
                                                        "train_seconds": 0.1, "device": "fake"}):
            done.append(job.job_id)
        else:
            refused += 1
    queue.unregister_worker(engine, wid)
    engine.dispose()
    return done, refused


async def reader(client: httpx.AsyncClient, study_id: int, deadline: float, lat: dict, errors: list, i: int):
    names = list(READ_PATHS)
    k = i
    while time.time() < deadline:
        name = names[k % len(names)]
        k += 1
        path, params = READ_PATHS[name]
        t0 = time.perf_counter()
        try:
            r = await client.get(path.format(id=study_id), params=params)
            if r.status_code != 200:
                errors.append(f"{name}: {r.status_code} {r.text[:200]}")
        except httpx.HTTPError as e:
            errors.append(f"{name}: {e!r}")
            continue
        lat.setdefault(name, []).append(time.perf_counter() - t0)


async def stream(client: httpx.AsyncClient, deadline: float, lat: dict, errors: list, counts: list) -> None:
    t0 = time.perf_counter()
    n = 0
    try:
        async with client.stream("GET", "/api/events", timeout=httpx.Timeout(10, read=30)) as r:
            if r.status_code != 200:
                errors.append(f"events: {r.status_code}")
                return
            lat.setdefault("events connect", []).append(time.perf_counter() - t0)
            async for line in r.aiter_lines():
                n += line.startswith("data:")
                if time.time() >= deadline:
                    break
    except httpx.HTTPError as e:
        errors.append(f"events: {e!r}")
    counts.append(n)


async def watch_rss(pid: int, deadline: float, every: float, out: list[float]) -> None:
    """The server's RSS every `every` seconds: flat after warm-up, or growing (a leak)."""
    while time.time() < deadline:
        await asyncio.sleep(min(every, max(0.0, deadline - time.time())))
        out.append(rss_mb(pid))


async def read_all(url: str, study_id: int, deadline: float, pid: int) -> tuple[dict, list, list, list]:
    lat: dict[str, list[float]] = {}
    errors: list[str] = []
    counts: list[int] = []
    rss: list[float] = []
    limits = httpx.Limits(max_connections=READERS + STREAMS + 5)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(reader(client, study_id, deadline, lat, errors, i) for i in range(READERS)),
                             *(stream(client, deadline, lat, errors, counts) for _ in range(STREAMS)),
                             watch_rss(pid, deadline, (deadline - time.time()) / 6, rss))
    return lat, errors, counts, rss


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def setup(db_url: str, jobs: int) -> int:
    """A migrated schema with one RegNetX study on digits and `jobs` queued samples (several sampling calls)."""
    from backend.services.sampling import queue_samples
    from backend.services.studies import StudyIn, create_study
    from db.engine import make_engine
    from db.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    sid = create_study(engine, StudyIn(name="soak", space="RegNetX", dataset={"name": "digits"}, seed=1))["id"]
    queued, seed = 0, 1
    while queued < jobs:
        queued += queue_samples(engine, sid, min(10_000, jobs - queued), seed=seed)["queued"]
        seed += 1
    engine.dispose()
    return sid


def check(db_url: str, study_id: int, completed: list[int]) -> dict[str, int]:
    from sqlalchemy import text

    from db.engine import make_engine

    engine = make_engine(db_url)
    with engine.connect() as conn:
        q = "SELECT j.status, count(*) FROM jobs j JOIN models m ON m.id = j.model_id WHERE m.study_id = :s GROUP BY 1"
        status = dict(conn.execute(text(q), {"s": study_id}).all())
        results = conn.execute(text("SELECT count(*) FROM results r JOIN models m ON m.id = r.model_id "
                                    "WHERE m.study_id = :s"), {"s": study_id}).scalar_one()
        retried = conn.execute(text("SELECT count(*) FROM jobs j JOIN models m ON m.id = j.model_id "
                                    "WHERE m.study_id = :s AND j.attempts > 1"), {"s": study_id}).scalar_one()
    engine.dispose()
    return {"done": status.get("done", 0), "running": status.get("running", 0), "results": results,
            "retried": retried, "completed_twice": len(completed) - len(set(completed))}


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000 if len(values) > 1 else values[0] * 1e3


def main(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    argv = sys.argv[1:] if argv is None else argv
    seconds = float(argv[0]) if argv else float(os.environ.get("NETSPACE_SOAK_SECONDS", "60"))
    with scratch_schema("soak") as db_url:
        if db_url is None:
            return []
        proc = None
        try:
            t0 = time.perf_counter()
            study_id = setup(db_url, int(seconds * JOBS_PER_SECOND) + 200)
            print(f"soak: study {study_id} queued in {time.perf_counter() - t0:.1f} s; {seconds:.0f} s of load")
            proc, url = start_server(db_url, Path(tempfile.mkdtemp(prefix="soak-")) / "uvicorn.log")
            httpx.get(f"{url}/api/studies/{study_id}/models", timeout=60)  # warm caches before the start RSS
            rss_start = rss_mb(proc.pid)
            deadline = time.time() + seconds
            with ProcessPoolExecutor(WRITERS, mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(writer, db_url, deadline, i) for i in range(WRITERS)]
                lat, errors, counts, rss = asyncio.run(read_all(url, study_id, deadline, proc.pid))
                outs = [f.result() for f in futures]
            rss_end = rss_mb(proc.pid)
            completed = [j for done, _ in outs for j in done]
            state = check(db_url, study_id, completed)
        finally:
            if proc is not None:
                stop_server(proc)
    every = [x for v in lat.values() for x in v if v is not lat.get("events connect")]
    requests = len(every)
    lost = state["running"] + abs(len(completed) - state["done"])  # claimed and never finished, or unaccounted
    twice = state["completed_twice"] + state["retried"] + max(0, state["results"] - state["done"])
    print(f"  {READERS} readers + {STREAMS} event streams, {WRITERS} fake workers, {seconds:.0f} s, PostgreSQL")
    print(f"  requests {requests:,} ({requests / seconds:.0f}/s), errors {len(errors)}"
          + (f" (first: {errors[0]})" if errors else ""))
    for name, v in sorted(lat.items()):
        print(f"  {name:18s} n={len(v):6d}  p50 {pct(v, 50):8.1f} ms  p99 {pct(v, 99):8.1f} ms")
    print(f"  events received per stream: {counts}")
    print(f"  jobs done {state['done']:,} ({state['done'] / seconds:.1f}/s); lost {lost}; done twice {twice}; "
          f"refused completions {sum(r for _, r in outs)}")
    print(f"  server RSS start {rss_start:.0f} MB, end {rss_end:.0f} MB ({rss_end - rss_start:+.0f} MB); "
          f"every {seconds / 6:.0f} s: {', '.join(f'{x:.0f}' for x in rss)} MB")
    return [
        ("soak requests", requests / seconds, "req/s"),
        ("soak errors", len(errors), "count"),
        ("soak read p50", pct(every, 50), "ms"),
        ("soak read p99", pct(every, 99), "ms"),
        ("soak jobs done", state["done"] / seconds, "jobs/s"),
        ("soak jobs lost", lost, "count"),
        ("soak jobs done twice", twice, "count"),
        ("soak server RSS start", rss_start, "MB"),
        ("soak server RSS end", rss_end, "MB"),
    ]


if __name__ == "__main__":
    main()

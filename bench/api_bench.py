"""REST API latency and export throughput on a 100,000-model SQLite study, over a real uvicorn server.

Targets (issue 3): `/models?top=100` and a filtered page return in < 100 ms median; a CSV export of all
100,000 models streams in < 3 s. The study is built straight through the database layer (real sampled
RegNetX configs, synthetic errors: bench/population_fixture.py), then a uvicorn process serves it and an
HTTP client on this machine measures wall time per request, as a browser would see it.

    python -m bench.api_bench [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.live_server import start_server, stop_server
from bench.population_fixture import build_study
from db.engine import make_engine
from db.migrate import upgrade

N = 100_000
REPEATS = 25


def median_ms(client: httpx.Client, path: str, params: dict, repeats: int = REPEATS) -> tuple[float, dict]:
    client.get(path, params=params).raise_for_status()  # warm-up (first-use caches, SQLite page cache)
    times, body = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        r = client.get(path, params=params)
        body = r.json()
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return statistics.median(times), body


def csv_export_s(client: httpx.Client, path: str, repeats: int = 3) -> tuple[float, int, int]:
    best = []
    lines = size = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        with client.stream("GET", path, params={"format": "csv"}) as r:
            r.raise_for_status()
            size = lines = 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        best.append(time.perf_counter() - t0)
    return statistics.median(best), lines, size


def main(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else N
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(db_url)
        upgrade(engine)
        built = build_study(engine, "api-bench", n)
        engine.dispose()
        print(f"built {built['n']:,} models with results in {built['total_s']:.1f}s "
              f"(sampling {built['sample_s']:.1f}s)")
        proc, url = start_server(db_url, Path(tmp) / "uvicorn.log")
        try:
            with httpx.Client(base_url=url, timeout=120) as c:
                sid = built["study_id"]
                models = f"/api/studies/{sid}/models"
                top_ms, top = median_ms(c, models, {"top": 100})
                assert top["total"] == 100 and len(top["items"]) == 100
                errs = [m["error"] for m in top["items"]]
                assert errs == sorted(errs)
                everything = c.get(models, params={"limit": 1}).json()["total"]
                flt = {"flops_min": 20e6, "flops_max": 60e6, "d_max": 20, "w0_min": 32, "sort": "-error",
                       "limit": 100, "offset": 200}
                page_ms, page = median_ms(c, models, flt)
                assert len(page["items"]) == 100 and 0 < page["total"] < everything
                first_ms, _ = median_ms(c, models, {"sort": "error", "limit": 100})
                export_s, lines, size = csv_export_s(c, f"/api/studies/{sid}/export")
                assert lines == n + 1, (lines, n)
        finally:
            stop_server(proc)
    rows = [
        ("api /models?top=100 median (100k study)", top_ms, "ms"),
        ("api filtered page median (100k study)", page_ms, "ms"),
        ("api first page sorted by error median", first_ms, "ms"),
        ("api CSV export of all models", export_s, "s"),
        ("api CSV export rate", n / export_s, "rows/s"),
    ]
    print(f"\n{n:,} models in SQLite, uvicorn on 127.0.0.1, median of {REPEATS} requests")
    print(f"  /models?top=100             {top_ms:8.1f} ms   (target < 100 ms: {100 / top_ms:.1f}x margin)")
    print(f"  filtered page ({page['total']:,} match)  {page_ms:8.1f} ms   (target < 100 ms: "
          f"{100 / page_ms:.1f}x margin)")
    print(f"  first page sorted by error  {first_ms:8.1f} ms")
    print(f"  CSV export, all {n:,} rows  {export_s:8.2f} s    ({size / 1e6:.1f} MB, {n / export_s:,.0f} rows/s; "
          f"target < 3 s: {3 / export_s:.1f}x margin)")
    return rows


if __name__ == "__main__":
    main()

"""Cached populations while workers write: per-study data versions and patched updates (issue 15, item 1).

A 20,000-model study (bench.population_fixture) with 50 more models queued, and a second small study in
training. Timed, side by side in one run, on SQLite and on PostgreSQL, for the EDF figure of the big study
(service level: population read + statistics + figure JSON; no HTTP):
- warm: nothing changed since the last request;
- after a change in another study (a job finished there): the cache must stay valid, so ~warm;
- after a result in the same study: the cached population is patched with the changed rows;
- cold: a full read (what every change anywhere used to cost, when the version was the newest event of the
  whole log).
Each is the median of REPEATS requests, each after its own change.

    python -m bench.popcache_bench
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from sqlalchemy import Engine

from backend.figures import to_json
from backend.services import population as popmod
from backend.services.figures import study_figure
from backend.services.sampling import queue_samples
from backend.services.studies import StudyIn, create_study
from bench.pg_scratch import on_both_databases
from bench.population_fixture import build_study
from db.engine import make_engine
from db.migrate import upgrade
from db.queue import claim_job, complete_job, register_worker

N = 20_000
REPEATS = 5


def _edf(engine: Engine, study_id: int) -> float:
    t = time.perf_counter()
    to_json(study_figure(engine, "edf", [study_id]))
    return time.perf_counter() - t


def _finish_one(engine: Engine, worker: str, study_id: int) -> None:
    job = claim_job(engine, worker, study_id=study_id)
    assert job is not None
    assert complete_job(engine, job.job_id, worker, {"error": 0.2, "test_error": [0.3, 0.2], "train_seconds": 1.0})


def _median(engine: Engine, study_id: int, before: Callable[[], None]) -> float:
    times = []
    for _ in range(REPEATS):
        before()
        times.append(_edf(engine, study_id))
    return statistics.median(times)


def measure(url: str, label: str) -> list[tuple[str, float, str]]:
    engine = make_engine(url)
    upgrade(engine)
    try:
        big = build_study(engine, f"big-{label}", N)["study_id"]
        queue_samples(engine, big, 50, seed=1)
        other = create_study(engine, StudyIn(name=f"other-{label}", space="RegNetX", n=50,
                                             regime={"flops": [None, "5M"]}))["id"]
        worker = register_worker(engine, "cpu")
        _edf(engine, big)  # first read
        full = popmod.LOADS["full"]
        warm = _median(engine, big, lambda: None)
        elsewhere = _median(engine, big, lambda: _finish_one(engine, worker, other))
        reads_elsewhere = popmod.LOADS["full"] - full
        own = _median(engine, big, lambda: _finish_one(engine, worker, big))
        reads_own = popmod.LOADS["full"] - full
        cold = _median(engine, big, popmod._CACHE.items.clear)
    finally:
        engine.dispose()
    print(f"{label}: EDF of a {N:,}-model study: warm {warm * 1e3:.1f} ms; after a result in another study "
          f"{elsewhere * 1e3:.1f} ms ({reads_elsewhere} full reads); after a result in it {own * 1e3:.1f} ms "
          f"({reads_own} full reads); cold {cold * 1e3:.1f} ms", flush=True)
    return [(f"{label}: EDF {N // 1000}k warm", warm * 1e3, "ms"),
            (f"{label}: EDF {N // 1000}k after a result in another study", elsewhere * 1e3, "ms"),
            (f"{label}: EDF {N // 1000}k after a result in the study (patched)", own * 1e3, "ms"),
            (f"{label}: EDF {N // 1000}k cold (full read)", cold * 1e3, "ms"),
            (f"{label}: cold / after a result elsewhere", cold / elsewhere, "x"),
            (f"{label}: cold / after a result in the study", cold / own, "x"),
            (f"{label}: full reads caused by {REPEATS} results elsewhere", reads_elsewhere, "reads")]


def main() -> list[tuple[str, float, str]]:
    return on_both_databases("popcache", measure)


if __name__ == "__main__":
    for row in main():
        print(*row)

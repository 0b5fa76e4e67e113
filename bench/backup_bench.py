"""Backup and restore speed at 100,000 models, on SQLite and PostgreSQL, and the round trip checked byte for byte.

One study of N imported models (our JSONL export of sampled RegNetX configs, each with a result and three
10-epoch curves) on SQLite is dumped (A), restored into a fresh PostgreSQL schema and dumped there (B), restored
into a fresh SQLite file and dumped again (C): A, B and C must be the same bytes. Each dump and restore is timed
(rows per second over every row written: the study, its models and their results) with the growth of this
process's resident memory while it ran (streaming: it should not grow with N).

    python -m bench.backup_bench [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.services.importing import import_file
from bench.import_bench import jsonl_text
from bench.pg_scratch import scratch_schema
from db.backup import dump_file, restore
from db.engine import make_engine
from db.migrate import upgrade

N = 100_000


def rss_mb() -> float:
    """This process's anonymous resident memory (heap and the like; SQLite's memory-mapped database file, which
    the OS may drop at any time, is left out)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measured(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """fn()'s value, its wall seconds, and how far this process's RSS rose above the start while it ran (MB)."""
    start, peak, done = rss_mb(), [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_mb())

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    try:
        value = fn()
    finally:
        took = time.perf_counter() - t0
        done.set()
        watcher.join()
    return value, took, max(peak[0], rss_mb()) - start


def main(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    n = int(argv[0]) if argv else N
    with scratch_schema("backup") as pg_url:
        if pg_url is None:
            return []
        with tempfile.TemporaryDirectory(prefix="backup-bench-") as folder:
            return round_trip(n, pg_url, Path(folder))


def round_trip(n: int, pg_url: str, folder: Path) -> list[tuple[str, float, str]]:
    """The study imported into SQLite, then dump -> restore -> dump -> restore -> dump, each step timed."""
    engines = {k: make_engine(u) for k, u in (("src", f"sqlite:///{folder / 'src.db'}"), ("pg", pg_url),
                                              ("back", f"sqlite:///{folder / 'back.db'}"))}
    rows: list[tuple[str, float, str]] = []
    try:
        for e in engines.values():
            upgrade(e)
        t0 = time.perf_counter()
        import_file(engines["src"], jsonl_text(n), "bench.jsonl", "backup-bench")
        print(f"backup: {n:,} models imported into SQLite in {time.perf_counter() - t0:.1f} s (not timed below)")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows the wall times)")
        print(f"{'step':<34} {'rows':>9} {'s':>7} {'rows/s':>9} {'RSS +MB':>8} {'MB':>7}")
        files = {k: folder / f"{k}.nsdump.gz" for k in "ABC"}
        steps = [("dump SQLite", lambda: dump_file(engines["src"], files["A"]), "A"),
                 ("restore into PostgreSQL", lambda: restore(engines["pg"], files["A"])["counts"], None),
                 ("dump PostgreSQL", lambda: dump_file(engines["pg"], files["B"]), "B"),
                 ("restore into SQLite", lambda: restore(engines["back"], files["B"])["counts"], None),
                 ("dump SQLite (restored)", lambda: dump_file(engines["back"], files["C"]), "C")]
        for label, fn, made in steps:
            counts, took, grew = measured(fn)
            total = sum(counts.values())
            size = files[made].stat().st_size / 1e6 if made else float("nan")
            print(f"{label:<34} {total:>9,} {took:>7.2f} {total / took:>9,.0f} {grew:>8.1f} {size:>7.1f}", flush=True)
            if label != "dump SQLite (restored)":
                rows += [(f"backup: {label} ({n:,} models)", total / took, "rows/s"),
                         (f"backup: {label}, RSS growth", grew, "MB")]
        a, b, c = (files[k].read_bytes() for k in "ABC")
        same = a == b == c
        print(f"dump -> restore -> dump byte-identical SQLite -> PostgreSQL -> SQLite at {n:,} models: {same}")
        rows.append((f"backup: dump/restore/dump byte-identical at {n:,} (1 = yes)", float(same), "bool"))
    finally:
        for e in engines.values():
            e.dispose()
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])

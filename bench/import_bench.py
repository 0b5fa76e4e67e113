"""Import speed: 100,000 records into a fresh SQLite study, the whole import (`import_file`), per format.

Target (issue 7): importing 100,000 records takes < 10 s on this machine. Two inputs of that size:

- NDS: the real ResNeXt-A/B runs of tests/data/reference/nds, repeated with distinct job ids (each with its
  three 50-epoch curves, ~165 MB of JSON) — the heaviest records we import;
- our JSONL export: 100,000 sampled RegNetX configs with results and 10-epoch curves.

Building the input text is not timed; `import_file` is, from the file's bytes to the committed study
(parsing, converting, writing, index maintenance, commit). Each input is imported twice side by side:
converted in this process (one worker), and in the default number of worker processes (one per core)
while this process writes.

    python -m bench.import_bench [N]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from backend.designspace.builtin import get_space
from backend.designspace.exports import jsonl_lines
from backend.designspace.sampling import Regime, sample
from backend.forkpool import default_workers
from backend.services.importing import import_file
from db.engine import make_engine
from db.migrate import upgrade

N = 100_000
TARGET_S = 10.0
NDS_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "reference" / "nds"


def nds_text(n: int) -> bytes:
    runs = [r for name in ("ResNeXt-A_in.json", "ResNeXt-B_in.json")
            for r in json.loads((NDS_DIR / name).read_text())]
    return json.dumps([{**runs[i % len(runs)], "job_id": str(10_000_000 + i)} for i in range(n)]).encode()


def jsonl_text(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    recs = sample(get_space("RegNetX"), n, seed, Regime()).records()
    errors = rng.uniform(20, 80, n)
    rows = ({"id": i + 1, "index": i, "name": None, "arch_type": "anynet", "status": "done", "error": float(e),
             "error_final": float(e) + 0.5, "diverged": False, "flops": r["flops"], "params": r["params"],
             "acts": r["acts"], "train_seconds": 12.5, "infer_ms": 0.8, "epochs_done": 10, "extra": None,
             "config": r["config"], "train_loss": [2.3 - 0.2 * k for k in range(10)],
             "train_error": [float(e) + 10 - k for k in range(10)], "test_error": [float(e) + 9 - k for k in range(10)]}
            for i, (r, e) in enumerate(zip(recs, errors, strict=True)))
    return "".join(jsonl_lines(rows)).encode()


def timed_import(name: str, data: bytes, filename: str, workers: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{d}/bench.db")
        try:
            upgrade(engine)
            t0, c0 = time.perf_counter(), time.process_time()
            out = import_file(engine, data, filename, name, source=filename, workers=workers)
            t1, c1 = time.perf_counter(), time.process_time()
        finally:
            engine.dispose()
    return {"n": out.imported, "mb": len(data) / 1e6, "total": t1 - t0, "cpu": c1 - c0}


def python_loop_s(n: int = 10_000_000) -> float:
    """Seconds for a bare Python loop of n additions: this machine's speed at the moment (the shared 2-core VM
    has run the same loop in 0.9 s and in 2.8 s within one hour), to read the import times against."""
    t0, total = time.perf_counter(), 0
    for i in range(n):
        total += i
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    n = int(argv[0]) if argv else N
    workers = default_workers()
    speed = python_loop_s()
    rows: list[tuple[str, float, str]] = [("import: machine speed, Python loop of 10^7 additions", speed, "s")]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows the wall times); "
          f"Python loop of 10^7 additions: {speed:.2f} s")
    print(f"{'input':<8} {'records':>8} {'MB':>7} {'workers':>7} {'total s':>8} {'parent cpu s':>12} "
          f"{'records/s':>10} {'target s':>9} {'target/total':>12}")
    for label, make, filename in (("nds", nds_text, "Bench_in.json"), ("jsonl", jsonl_text, "bench.jsonl")):
        if label == "nds" and not NDS_DIR.is_dir():
            print(f"nds: skipped, no reference data at {NDS_DIR}")
            continue
        data = make(n)
        times = {}
        for w in (1, workers):
            t = timed_import(f"bench-{label}", data, filename, w)
            times[w] = t["total"]
            print(f"{label:<8} {t['n']:>8,} {t['mb']:>7.1f} {w:>7} {t['total']:>8.2f} {t['cpu']:>12.2f} "
                  f"{t['n'] / t['total']:>10,.0f} {TARGET_S:>9.1f} {TARGET_S / t['total']:>11.2f}x", flush=True)
        print(f"{label:<8} {workers} workers vs 1: {times[1] / times[workers]:.2f}x faster")
        rows += [(f"import {label} {n:,} records (SQLite, {workers} workers)", times[workers], "s"),
                 (f"import {label} rate ({workers} workers)", n / times[workers], "records/s"),
                 (f"import {label} {n:,} records (SQLite, 1 worker)", times[1], "s"),
                 (f"import {label}: {workers} workers vs 1", times[1] / times[workers], "x")]
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])

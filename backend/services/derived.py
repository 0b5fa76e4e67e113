"""Per-model values derived from configs (e_fit), computed once and stored, never on the request path twice.

A width-law fit costs ~0.4 ms for a model its own law reproduces (a RegNet sample: checked, not searched) and
7-13 ms for any other (an AnyNet sample, an imported net; 2026-12 Xeon VM). Who computes it:
- the sampler, for the cheap case (services.sampling);
- the worker that trains a model (db.queue.complete_job's `derived`), off the server entirely;
- `fill_e_fit` for whatever is left — after an import (in the background), and for any model still pending
  when a figure or a refinement needs e_fit — in forked worker processes above PROCESS_MIN models, so the
  server's threads keep answering;
- migration 0007, for the rows that existed before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy import Engine

from backend.analysis.widths import e_fit_of
from backend.forkpool import can_fork, default_workers, forked_pool
from db.derived import count_pending, pending, store
from db.engine import write_tx

from .popcache import KeyedLocks

#: models fitted per read/write round
BATCH = 512
#: fewer pending models than this are fitted in the calling thread (a pool's start costs ~0.1 s)
PROCESS_MIN = 256

#: one fill at a time per (database, study); entries live only while a fill holds or waits for them
_locks = KeyedLocks()


def e_fit_values(configs: Sequence[Any]) -> list[float | None]:
    """e_fit of each config (None: no stage lists); what a pool worker runs on its share."""
    return [e_fit_of(c) for c in configs]


def fill_e_fit(engine: Engine, study_id: int, *, workers: int | None = None) -> int:
    """Compute and store e_fit for every model of the study that has none yet; returns how many were stored.
    A config is fitted once per fill however often it repeats (imports hold reruns and repeats). Concurrent
    callers for one study wait for one fill instead of fitting the same models twice."""
    with _locks.hold((engine.url.render_as_string(), study_id)):
        with engine.connect() as conn:
            todo = count_pending(conn, study_id)
        if todo == 0:
            return 0
        procs = min(workers or default_workers(), max(1, todo // BATCH))
        pool = None  # started the first time a batch holds PROCESS_MIN configs not fitted yet
        memo: dict[str, float | None] = {}
        done, after = 0, 0
        try:
            while True:
                with engine.connect() as conn:
                    part = pending(conn, study_id, BATCH * procs, after)
                if not part:
                    return done
                keys = [json.dumps(c, sort_keys=True, separators=(",", ":")) for _, c in part]
                fresh = {k: c for k, (_, c) in zip(keys, part, strict=True) if k not in memo}
                if pool is None and procs > 1 and len(fresh) >= PROCESS_MIN and can_fork():
                    pool = forked_pool(procs)
                memo.update(zip(fresh, _fitted(list(fresh.values()), pool, procs), strict=True))
                with write_tx(engine) as conn:
                    store(conn, study_id, [(i, memo[k]) for (i, _), k in zip(part, keys, strict=True)])
                done += len(part)
                after = part[-1][0]
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


def _fitted(configs: list[Any], pool: ProcessPoolExecutor | None, procs: int) -> list[float | None]:
    if pool is None or len(configs) < PROCESS_MIN:
        return e_fit_values(configs)
    step = -(-len(configs) // procs)
    return [v for share in pool.map(e_fit_values, [configs[k:k + step] for k in range(0, len(configs), step)])
            for v in share]


def fill_in_background(engine: Engine, study_id: int) -> threading.Thread:
    """fill_e_fit on a daemon thread (the fitting itself runs in forked processes): after an import, so that
    the study's e_fit figure is a plain read by the time anyone opens it."""
    thread = threading.Thread(target=fill_e_fit, args=(engine, study_id), name=f"e_fit-{study_id}", daemon=True)
    thread.start()
    return thread

"""Build a large trained-looking study straight through the database layer (no training, no HTTP).

Used by the browser benchmark: n real sampled configs (the design-space sampler, so flops and parameters are
the true ones) with queue rows marked done and results whose errors follow a smooth function of complexity
plus noise — the shape of a real population, produced in seconds instead of GPU-weeks.
"""

from __future__ import annotations

import time

import numpy as np
from sqlalchemy import Engine, insert, select

from backend.services.sampling import draw_samples
from backend.services.studies import StudyIn, create_study
from db.engine import refresh_statistics, write_tx
from db.models import add_models, jobs, models, results, utcnow

CHUNK = 20_000


def synthetic_errors(flops: np.ndarray, seed: int) -> np.ndarray:
    """Error (%) falling with log flops, with noise: a plausible population, clearly not a real one."""
    rng = np.random.default_rng(seed)
    z = (np.log(flops) - np.log(flops).mean()) / (np.log(flops).std() + 1e-9)
    return np.clip(12.0 - 2.5 * z + rng.gamma(2.0, 1.2, size=len(flops)), 0.5, 99.0)


def build_study(engine: Engine, name: str, n: int, space: str = "RegNetX", seed: int = 0,
                im_size: int = 32) -> dict:
    """Create study `name` with n sampled models, each with a done job and a result; returns timings."""
    t0 = time.perf_counter()
    study = create_study(engine, StudyIn(name=name, space=space, dataset={"name": "digits"}, im_size=im_size,
                                         recipe={"epochs": 1}))
    row = {"space": study["space"], "source": study["source"], "regime": study["regime"], "im_size": study["im_size"],
           "num_classes": study["num_classes"]}
    drawn = draw_samples(row, n, seed)
    t_sample = time.perf_counter() - t0
    flops = np.array([r["flops"] for r in drawn.rows], dtype=float)
    errs = synthetic_errors(flops, seed)
    now = utcnow()
    for start in range(0, len(drawn.rows), CHUNK):
        part = drawn.rows[start:start + CHUNK]
        with write_tx(engine) as conn:
            conn.execute(insert(models), [{**r, "study_id": study["id"], "index": start + i}
                                          for i, r in enumerate(part)])
            ids = conn.execute(select(models.c.id).where(models.c.study_id == study["id"], models.c.index >= start)
                               .order_by(models.c.index)).scalars().all()
            add_models(conn, study["id"], len(ids))
            conn.execute(insert(jobs), [{"model_id": mid, "status": "done", "priority": 0, "attempts": 0,
                                         "max_attempts": 3, "epochs_done": 1, "queued_at": now,
                                         "finished_at": now} for mid in ids])
            conn.execute(insert(results), [
                {"model_id": mid, "error": float(e), "error_final": float(e) + 0.3, "diverged": False,
                 "test_error": [float(e) + 0.3], "train_seconds": 1.0, "infer_ms": float(f) / 1e7, "created_at": now}
                for mid, e, f in zip(ids, errs[start:start + CHUNK], flops[start:start + CHUNK], strict=True)])
    # as the service's own bulk writes do (an import, queueing samples): the benchmarks then time a study whose
    # statistics autovacuum would have refreshed a minute later anyway, not the minute before
    refresh_statistics(engine, (models.name, jobs.name, results.name), len(drawn.rows))
    return {"study_id": study["id"], "n": len(drawn.rows), "sample_s": t_sample, "total_s": time.perf_counter() - t0}

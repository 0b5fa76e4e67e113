"""Design-loop speed on a large stored population (SQLite): refine previews, creating a child, the lineage.

What a user waits for after pressing Refine in the dashboard: the preview (load the parent's population,
membership of every model in the child, EDFs, KS, the figure JSON), the same with the bootstrap best range
of two parameters (10^4 repeats over every finished model), creating the child with N samples queued, and
the lineage of a three-step chain with its figure. Each study holds N RegNetX models; their results are
written by one bulk INSERT (not timed; the database triggers mirror them into models as a worker's would).
Each timing is one run after a warm-up run of the same call.

    python -m bench.refine_bench [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select

from backend.designspace.builtin import builtin_spaces
from backend.services.lineage import lineage
from backend.services.refine import RefineIn, refine_study
from backend.services.spacesize import size_report
from backend.services.studies import StudyIn, create_study
from db.engine import make_engine, write_tx
from db.migrate import upgrade
from db.models import models, results

N = 20_000
REGIME = {"flops": [None, "5M"]}


def timed(fn: Callable[[], object]) -> float:
    fn()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def finish_all(engine, study_id: int, seed: int) -> None:
    """Give every model of the study an error (bulk insert; the triggers fill models.error)."""
    with engine.connect() as conn:
        rows = conn.execute(select(models.c.id, models.c.flops).where(models.c.study_id == study_id)).all()
    rng = np.random.default_rng(seed)
    err = 30 - 2 * np.log(np.array([f for _, f in rows]) / 1e6) + rng.normal(0, 1, len(rows))
    with write_tx(engine) as conn:
        conn.execute(insert(results), [{"model_id": m, "error": float(e), "diverged": False}
                                       for (m, _), e in zip(rows, err, strict=True)])


def main(n: int = N) -> list[tuple[str, float, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        t = time.perf_counter()
        a = create_study(engine, StudyIn(name="X", space="RegNetX", regime=REGIME, n=n))["id"]
        create_s = time.perf_counter() - t
        finish_all(engine, a, 0)
        rows: list[tuple[str, float, str]] = []
        step = RefineIn(step={"name": "X-b1", "fix": {"b": 1}})
        rows.append((f"refine preview (fix b=1), {n:,}-model parent", timed(
            lambda: refine_study(engine, a, step)), "s"))
        boot = RefineIn(step={"name": "X-b1", "fix": {"b": 1}}, bestrange=["wm", "d"])
        rows.append((f"refine preview + bootstrap best range of wm, d (10^4 repeats), {n:,} models", timed(
            lambda: refine_study(engine, a, boot)), "s"))
        t = time.perf_counter()
        b = refine_study(engine, a, RefineIn(step={"name": "X-b1", "fix": {"b": 1}}, preview=False, n=n),
                         )["study"]["id"]
        rows.append((f"refine create: preview + child with {n:,} samples queued", time.perf_counter() - t, "s"))
        rows.append((f"(for scale) create a study with {n:,} samples queued", create_s, "s"))
        finish_all(engine, b, 1)
        c = refine_study(engine, b, RefineIn(step={"name": "X-b1-wm", "narrow": {"wm": [2, 3]}}, preview=False,
                                             n=n))["study"]["id"]
        finish_all(engine, c, 2)
        rows.append((f"lineage of a 3-step chain, {n:,} models per step, with figure", timed(
            lambda: lineage(engine, a)), "s"))
        rows.append(("space size of every built-in space (exact + paper)", 1e3 * timed(
            lambda: [size_report(s) for s in builtin_spaces().values()]), "ms"))
        engine.dispose()
    return rows


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else N
    for metric, value, unit in main(size):
        print(f"{metric:<80} {value:10.3f} {unit}")

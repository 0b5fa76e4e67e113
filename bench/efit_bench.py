"""Stored e_fit (issue 15, item 2): the e_fit figure of a 100k study is a plain read.

Side by side in one run:
- the e_fit figure of a 100,000-model RegNetX study on SQLite and PostgreSQL: the first ever (the population
  read from the database), cold after a restart (no population in memory; the columnar snapshot the first read
  left on disk, in a temporary $NETSPACE_SNAPSHOT_DIR) and warm — e_fit is a stored column, so this is one
  population read and a scatter;
- what the same figure cost before, when every model was fitted on request: the search's time per model
  (measured here on N_FIT AnyNetX_A models) times 100,000;
- the fill that stores e_fit (services.derived.fill_e_fit, forked processes): models per second, on N_FILL
  AnyNetX_A models, against the same fit in one process.

    python -m bench.efit_bench
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from unittest import mock

from sqlalchemy import Engine

from backend.analysis.widths import e_fit_column
from backend.designspace.builtin import get_space
from backend.designspace.sampling import Regime, sample
from backend.figures import to_json
from backend.services import population as popmod
from backend.services import snapshot
from backend.services.derived import fill_e_fit
from backend.services.figures import study_figure
from backend.services.studies import StudyIn, create_study
from bench.pg_scratch import on_both_databases
from bench.population_fixture import build_study
from db.engine import make_engine
from db.migrate import upgrade

N = 100_000
N_FIT = 100
N_FILL = 600


def _figure(engine: Engine, study_id: int) -> float:
    t = time.perf_counter()
    to_json(study_figure(engine, "e_fit", [study_id]))
    return time.perf_counter() - t


def figure_times(url: str, label: str) -> list[tuple[str, float, str]]:
    engine = make_engine(url)
    upgrade(engine)
    try:
        sid = build_study(engine, f"efit-{label}", N)["study_id"]
        popmod._CACHE.items.clear()
        first = _figure(engine, sid)  # never read before: the whole population from the database
        snapshot.flush()  # the columnar snapshot that read leaves behind (services/snapshot.py)
        popmod._CACHE.items.clear()  # a restarted server: no population in memory, its snapshot on disk
        cold = _figure(engine, sid)
        warm = min(_figure(engine, sid) for _ in range(3))
    finally:
        engine.dispose()
    print(f"{label}: e_fit figure of a {N:,}-model study: first read {first:.2f} s, cold after a restart "
          f"{cold:.2f} s, warm {warm * 1e3:.0f} ms", flush=True)
    return [(f"{label}: e_fit figure {N // 1000}k, study never read (database read)", first, "s"),
            (f"{label}: e_fit figure {N // 1000}k cold after a restart (snapshot)", cold, "s"),
            (f"{label}: e_fit figure {N // 1000}k warm", warm * 1e3, "ms")]


def fill_rate(tmp: Path) -> list[tuple[str, float, str]]:
    configs = [r["config"] for r in sample(get_space("AnyNetX_A"), N_FIT, seed=1, regime=Regime(flops=(None, 5e6)),
                                           im_size=32).records()]
    t = time.perf_counter()
    e_fit_column(configs)
    per_model = (time.perf_counter() - t) / N_FIT
    engine = make_engine(f"sqlite:///{tmp / 'fill.db'}")
    upgrade(engine)
    try:
        sid = create_study(engine, StudyIn(name="fill", space="AnyNetX_A", n=N_FILL,
                                           regime={"flops": [None, "5M"]}))["id"]
        t = time.perf_counter()
        filled = fill_e_fit(engine, sid)
        fill_s = time.perf_counter() - t
    finally:
        engine.dispose()
    print(f"e_fit search: {per_model * 1e3:.1f} ms a model in one process (the figure of a {N:,}-model study "
          f"fitted on request: ~{per_model * N:.0f} s); fill: {filled / fill_s:.0f} models/s", flush=True)
    return [("e_fit search, one process (AnyNetX_A)", per_model * 1e3, "ms/model"),
            (f"e_fit figure {N // 1000}k fitted on request (before; extrapolated)", per_model * N, "s"),
            ("fill_e_fit (forked processes)", filled / fill_s, "models/s"),
            ("fill_e_fit / one process", filled / fill_s * per_model, "x")]


def exact_search_cost() -> list[tuple[str, float, str]]:
    """The exact search (analysis/efit_exact.py) against the grids alone, side by side on the same models."""
    from backend.analysis import widths
    from backend.analysis.efit_exact import ExactMin
    from backend.analysis.widths import expand_config, fit_width_law

    configs = [r["config"] for r in sample(get_space("AnyNetX_A"), N_FIT, seed=1, regime=Regime(flops=(None, 5e6)),
                                           im_size=32).records()]
    real = widths.exact_minimum
    times, values = {}, {}
    for label in ("grids only (before)", "grids + exact search"):
        if label.startswith("grids only"):
            widths.exact_minimum = lambda *a, **k: ExactMin(float("inf"), None, 0, 0, [])  # type: ignore[assignment]
        t = time.perf_counter()
        values[label] = [fit_width_law(expand_config(c)).e_fit for c in configs]
        times[label] = (time.perf_counter() - t) / len(configs)
        widths.exact_minimum = real
    before, after = values.values()
    better = sum(a < b - 1e-12 for a, b in zip(after, before, strict=True))
    gain = max(b - a for a, b in zip(after, before, strict=True))
    for label, per in times.items():
        print(f"e_fit {label}: {per * 1e3:.1f} ms a model", flush=True)
    print(f"exact search lowers e_fit on {better}/{len(configs)} models (at most by {gain:.3f})", flush=True)
    return [(f"e_fit {label} (AnyNetX_A)", per * 1e3, "ms/model") for label, per in times.items()] + [
        ("e_fit lowered by the exact search", better, f"of {len(configs)} models")]


def main() -> list[tuple[str, float, str]]:
    rows = exact_search_cost()
    with tempfile.TemporaryDirectory() as tmp:
        rows += fill_rate(Path(tmp))
    # snapshots in a temporary folder, not the user's cache folder; the variable is restored afterwards
    with tempfile.TemporaryDirectory() as snapshots, mock.patch.dict(os.environ, NETSPACE_SNAPSHOT_DIR=snapshots):
        return rows + on_both_databases("efit", figure_times)


if __name__ == "__main__":
    for row in main():
        print(*row)

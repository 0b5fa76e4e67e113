"""List, filter, EDF and export at 10^5 vs 10^6 models in one PostgreSQL study, over a real uvicorn server.

Requirement (issue tracker): with 1,000,000 models in one PostgreSQL study, list, filter, EDF and export stay
within 2x of their 100,000-model figures *per row*. Two comparisons, named in every row of the table:

- `abs`: a page of fixed size (100 rows) should cost about the same at any study size, so the large study's
  time is compared with the small one's directly;
- `per row`: whole-population work (the EDF over every model, the CSV of every model, a filtered page whose
  total counts every match) is expected to grow with the rows it touches, so t_large / (large/small) is
  compared with t_small.

Unfiltered pages report the study's exact total from studies.n_models (kept by the writers, migration 0005),
not a count(*) over 10^6 index entries (~90 ms on PostgreSQL).

Both studies live in one scratch database (created here, dropped at the end; $NETSPACE_SCALE_DB overrides its
URL; NETSPACE_SCALE_KEEP=1 keeps it for EXPLAIN ANALYZE). The study rows are real sampled RegNetX configs
with synthetic errors, as in bench/population_fixture.py, but written with PostgreSQL's COPY: the ORM path
takes many minutes per 10^6 rows on a 2-core machine, COPY under three (sampling 10^6 configs another ~100 s).
Without a reachable PostgreSQL the benchmark returns one row saying so instead of failing `make bench`.

    python -m bench.scale_bench [SMALL LARGE]         # default 100000 1000000
    python -m bench.scale_bench export [SMALL LARGE]  # CSV export only: row writer vs columnar, side by side

`export` times the service's CSV export in process (no HTTP) both ways on the same query and the same column
batches: the csv.writer row path it replaced (designspace.exports.csv_table) and the columnar writer
(exporters/csv.py), so that the ratio is not blurred by a shared machine's load between two runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from backend.designspace.exports import config_text
from backend.designspace.params import PARAM_NAMES
from backend.services.sampling import draw_samples
from backend.services.studies import StudyIn, create_study
from bench.api_bench import csv_export_s, median_ms
from bench.live_server import start_server, stop_server
from bench.population_fixture import synthetic_errors
from db.engine import make_engine
from db.migrate import upgrade
from db.models import utcnow

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/netspace_scale"
SIZES = (100_000, 1_000_000)
REPEATS = 9
#: a deep-ish page at the same offset in both studies: skipping k rows costs O(k) however large the study
SORTED_OFFSET = 5000
#: the models columns COPY writes (mirrors error/status set as the triggers would set them)
MODEL_COLUMNS = ("study_id", "index", "config", "config_hash", "arch_type", "flops", "params", "acts", "error",
                 "status", "created_at", *PARAM_NAMES, "config_text")
FILTER = {"flops_min": 20e6, "flops_max": 60e6, "d_max": 20, "sort": "-error", "limit": 100, "offset": 200}
Row = tuple[str, float, str]


# ------------------------------------------------------------------------------------------------------------
# the scratch database and the bulk load

def scratch_db(url: str, create: bool) -> None:
    """Create (create=True, replacing any leftover) or drop the database named in `url`, via `postgres`."""
    u = make_url(url)
    admin = make_engine(u.set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    name = sql.Identifier(u.database).as_string(None)  # a quoted identifier from our own setting, not user input
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            if create:
                conn.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()


def _copy(cur, table: str, columns: Sequence[str], rows) -> None:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table),
                                                    sql.SQL(", ").join(map(sql.Identifier, columns)))
    with cur.copy(stmt) as cp:
        for r in rows:
            cp.write_row(r)


def bulk_study(engine: Engine, name: str, drawn: list[dict[str, Any]], errs: np.ndarray) -> int:
    """A study of the given sampled rows, each with a done job and a result, written with COPY in one
    transaction. Triggers are off during the load (session_replication_role, superuser only) because the rows
    are written with the error/status mirror already set; without the privilege they run, just slower."""
    study = create_study(engine, StudyIn(name=name, space="RegNetX", dataset={"name": "digits"}, im_size=32,
                                         recipe={"epochs": 1}))
    sid, now = study["id"], utcnow()
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        if cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            cur.execute("SET LOCAL session_replication_role = replica")
        _copy(cur, "models", MODEL_COLUMNS, (
            (sid, i, orjson.dumps(r["config"]).decode(), r["config_hash"], r["arch_type"], r["flops"], r["params"],
             r["acts"], float(e), "done", now, *(r[p] for p in PARAM_NAMES), config_text(r["config"]))
            for i, (r, e) in enumerate(zip(drawn, errs, strict=True))))
        ids = [i for (i,) in cur.execute("SELECT id FROM models WHERE study_id = %s ORDER BY index", (sid,))]
        _copy(cur, "jobs", ("model_id", "status", "priority", "attempts", "max_attempts", "epochs_done",
                            "queued_at", "finished_at"),
              ((mid, "done", 0, 0, 3, 1, now, now) for mid in ids))
        _copy(cur, "results", ("model_id", "error", "error_final", "diverged", "test_error", "train_seconds",
                               "infer_ms", "created_at"),
              ((mid, float(e), float(e) + 0.3, False, f"[{float(e) + 0.3!r}]", 1.0, r["flops"] / 1e7, now)
               for mid, e, r in zip(ids, errs, drawn, strict=True)))
        cur.execute("UPDATE studies SET n_models = n_models + %s WHERE id = %s", (len(ids), sid))  # add_models
        raw.commit()
    finally:
        raw.close()
    return sid


def build(url: str, sizes: Sequence[int],
          drawn: tuple[list[dict[str, Any]], np.ndarray] | None = None) -> tuple[dict[int, int], dict[str, float]]:
    """Migrate the scratch database and load one study per size (the small one is a prefix of the large one:
    the sampler is prefix-stable), from `drawn` (configs, errors: _drawn) when given. Returns {size: study id}
    and timings."""
    t0 = time.perf_counter()
    engine = make_engine(url)
    try:
        upgrade(engine)
        rows, errs = drawn or _drawn(max(sizes))
        t_sample = time.perf_counter() - t0
        ids = {}
        for n in sizes:
            ids[n] = bulk_study(engine, f"scale-{n}", rows[:n], errs[:n])
        t_copy = time.perf_counter() - t0 - t_sample
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum would have done after a load this size
    finally:
        engine.dispose()
    return ids, {"sample_s": t_sample, "copy_s": t_copy, "total_s": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------------------------
# measurements

def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure(c: httpx.Client, sid: int, n: int) -> dict[str, float]:
    """Every timing of one study (ms, or s for the export); the first EDF request is the cold one."""
    models = f"/api/studies/{sid}/models"
    edf = f"/api/studies/{sid}/figures/edf"
    out: dict[str, float] = {}
    cold, r = timed(lambda: c.get(edf))
    r.raise_for_status()
    out["edf_cold"] = cold * 1000
    out["edf_warm"], _ = median_ms(c, edf, {}, repeats=5)
    out["first"], page = median_ms(c, models, {"limit": 100}, REPEATS)
    assert page["total"] == n and [m["index"] for m in page["items"]] == list(range(100))
    out["sorted"], page = median_ms(c, models, {"sort": "-error", "limit": 100, "offset": SORTED_OFFSET}, REPEATS)
    errs = [m["error"] for m in page["items"]]
    assert errs == sorted(errs, reverse=True) and len(errs) == 100
    out["filter"], page = median_ms(c, models, FILTER, REPEATS)
    assert len(page["items"]) == 100 and 0 < page["total"] < n
    out["matches"] = page["total"]
    out["export"], lines, _ = csv_export_s(c, f"/api/studies/{sid}/export", repeats=2)
    assert lines == n + 1, (lines, n)
    return out


#: (key, label, unit, compared per row?)
OPERATIONS = (
    ("first", "list: first page (limit=100, index order)", "ms", False),
    ("sorted", f"list: page sorted by -error, offset {SORTED_OFFSET:,}", "ms", False),
    ("filter", "filter: flops/d range page + total", "ms", True),
    ("edf_cold", "EDF figure, cold (reads the database)", "ms", True),
    ("edf_warm", "EDF figure, warm (cached population)", "ms", True),
    ("edf_restart", "EDF figure, first after a restart (snapshot)", "ms", True),
    ("export", "CSV export of every model", "s", True),
)


def compare(small: dict[str, float], large: dict[str, float], ns: int, nl: int) -> list[Row]:
    """Print the table; return make-bench rows (each figure, and the ratio the 2x requirement is judged on)."""
    print(f"\n{'operation':<46} {f'{ns:,}':>10} {f'{nl:,}':>11}  comparison   ratio  within 2x")
    rows: list[Row] = []
    for key, label, unit, per_row in OPERATIONS:
        # the filter's total counts every match: its rows are the matches, not the study
        scale = (large["matches"] / small["matches"] if key == "filter" else nl / ns) if per_row else 1.0
        ratio = (large[key] / scale) / small[key]
        how = "per row" if per_row else "abs"
        print(f"{label:<46} {small[key]:>8.1f}{unit:>2} {large[key]:>9.1f}{unit:>2}  {how:<10} {ratio:6.2f}x  "
              f"{'yes' if ratio <= 2 else 'NO'}")
        rows += [(f"scale {label} ({ns:,})", small[key], unit), (f"scale {label} ({nl:,})", large[key], unit),
                 (f"scale {label}: {nl:,} vs {ns:,} ({how})", ratio, "x")]
    for n, m in ((ns, small), (nl, large)):
        rows.append((f"scale CSV export rate ({n:,})", n / m["export"], "rows/s"))
        print(f"CSV export rate at {n:,}: {n / m['export']:,.0f} rows/s")
    print(f"filter matches: {small['matches']:,.0f} of {ns:,}, {large['matches']:,.0f} of {nl:,}")
    return rows


def main(argv: list[str] | None = None) -> list[Row]:
    argv = sys.argv[1:] if argv is None else argv
    ns, nl = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else SIZES
    url = os.environ.get("NETSPACE_SCALE_DB", DEFAULT_URL)
    try:
        scratch_db(url, create=True)
    except Exception as e:  # any connection failure means "no PostgreSQL here"
        reason = str(e).strip().splitlines()[0][:120]
        print(f"scale bench skipped: PostgreSQL at {make_url(url).render_as_string()} not usable ({reason})")
        return [("scale bench skipped: PostgreSQL not reachable", float("nan"), "-")]
    try:
        ids, t = build(url, (ns, nl))
        print(f"built {ns:,} + {nl:,} models with jobs and results in {t['total_s']:.0f}s "
              f"(sampling {t['sample_s']:.0f}s, COPY {t['copy_s']:.0f}s)")
        with tempfile.TemporaryDirectory() as tmp:
            # no start-up warming of the newest studies: it would race the cold EDF and the first timings
            env = {"NETSPACE_WARM_STUDIES": "0", "NETSPACE_SNAPSHOT_DIR": str(Path(tmp) / "snapshots")}
            proc, base = start_server(url, Path(tmp) / "uvicorn.log", env=env)
            try:
                with httpx.Client(base_url=base, timeout=600) as c:
                    small, large = measure(c, ids[ns], ns), measure(c, ids[nl], nl)
            finally:
                stop_server(proc)
            # a restarted server: its first EDF reads the snapshot the first run wrote (services.snapshot)
            proc, base = start_server(url, Path(tmp) / "uvicorn2.log", env=env)
            try:
                with httpx.Client(base_url=base, timeout=600) as c:
                    for sid, out in ((ids[ns], small), (ids[nl], large)):
                        t, r = timed(lambda sid=sid: c.get(f"/api/studies/{sid}/figures/edf"))
                        r.raise_for_status()
                        out["edf_restart"] = t * 1000
            finally:
                stop_server(proc)
    finally:
        if not os.environ.get("NETSPACE_SCALE_KEEP"):  # kept for EXPLAIN ANALYZE when asked; else dropped
            scratch_db(url, create=False)
    return compare(small, large, ns, nl)


def bulk_study_sqlite(url: str, name: str, drawn: list[dict[str, Any]], errs: np.ndarray) -> int:
    """bulk_study for SQLite: the same rows through the driver's executemany in one transaction (what the
    importer's bulk path does), with the stored config text the writers keep (migration 0011)."""
    import sqlite3

    engine = make_engine(url)
    upgrade(engine)
    sid = create_study(engine, StudyIn(name=name, space="RegNetX", dataset={"name": "digits"}, im_size=32,
                                       recipe={"epochs": 1}))["id"]
    engine.dispose()
    now = utcnow().isoformat(sep=" ")
    db = sqlite3.connect(make_url(url).database or "", isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        names = ", ".join(f'"{c}"' for c in MODEL_COLUMNS)
        db.executemany(f"INSERT INTO models ({names}) VALUES ({', '.join('?' * len(MODEL_COLUMNS))})", (
            (sid, i, orjson.dumps(r["config"]).decode(), r["config_hash"], r["arch_type"], r["flops"], r["params"],
             r["acts"], float(e), "done", now, *(r[p] for p in PARAM_NAMES), config_text(r["config"]))
            for i, (r, e) in enumerate(zip(drawn, errs, strict=True))))
        ids = [i for (i,) in db.execute("SELECT id FROM models WHERE study_id = ? ORDER BY \"index\"", (sid,))]
        db.executemany("INSERT INTO jobs (model_id, status, priority, claim_round, attempts, max_attempts, "
                       "epochs_done, queued_at, finished_at) VALUES (?, 'done', 0, 0, 0, 3, 1, ?, ?)",
                       ((mid, now, now) for mid in ids))
        db.executemany("INSERT INTO results (model_id, error, error_final, diverged, test_error, train_seconds, "
                       "infer_ms, created_at) VALUES (?, ?, ?, 0, ?, 1.0, ?, ?)",
                       ((mid, float(e), float(e) + 0.3, f"[{float(e) + 0.3!r}]", r["flops"] / 1e7, now)
                        for mid, e, r in zip(ids, errs, drawn, strict=True)))
        db.execute("UPDATE studies SET n_models = n_models + ? WHERE id = ?", (len(ids), sid))
        db.execute("COMMIT")
    finally:
        db.close()
    return sid


def export_rates(url: str, sid: int, n: int, old: bool) -> dict[str, float]:
    """rows/s of the CSV export of study `sid` (n models), best of 2, in this process: "new", the export
    itself (Arrow reads, stored config text), and with old=True "old", the reader it replaced (Python values off
    the driver's cursor, each config decoded and re-encoded) feeding the same columnar writer; "rss_mb", this
    process's peak resident memory over the timed runs, the study's population already cached (run alone in a
    child process: see export_child); "new_cpu", rows per
    second of CPU time of this process and its children (the wall-clock rate on a machine with cores to spare
    for it; PostgreSQL's own server time not included)."""
    import resource

    from backend.exporters.csv import csv_column_batches
    from backend.services import export as export_service
    from backend.services.columns import load_columns
    from backend.services.models_query import ordered
    from db.models import models as models_table
    from db.rawsql import driver_rows, json_value

    engine = make_engine(url)
    try:
        cols = [*export_service.csv_columns()]
        extras = load_columns(engine, sid).extra_names  # the population (cached): the export asks it too
        _reset_peak_rss()  # from here: what the export's stream holds, not the population cache it shares
        header = [*cols[:-1], *extras, cols[-1]]

        def new() -> int:
            return sum(len(b) for b in export_service.export(engine, sid, None, "csv").chunks)

        def old_reader() -> int:
            q = ordered(export_service.filtered(export_service.select(*export_service.CSV_COLUMNS,
                                                                      models_table.c.extra), sid, None), None, None)

            def batches():
                with engine.connect() as conn:
                    for batch in driver_rows(conn, q, stream=True, binary=True):
                        c = list(zip(*batch, strict=True))
                        yield [*c[:-2], [config_text(json_value(v)) for v in c[-2]]]
            return sum(len(b) for b in csv_column_batches(header, batches()))

        def cpu_s() -> float:  # this process and its children (SQLite's reader): not PostgreSQL's server
            me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

        runs = []
        for _ in range(2):
            c0 = cpu_s()
            runs.append((timed(new)[0], cpu_s() - c0))
        out = {"new": n / min(w for w, _ in runs), "new_cpu": n / min(c for _, c in runs)}
        if old:
            out["old"] = n / min(timed(old_reader)[0] for _ in range(2))
        out["rss_mb"] = _peak_rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return out
    finally:
        engine.dispose()


def _reset_peak_rss() -> None:
    """Linux keeps a process's peak RSS across fork and exec: a child of the 7 GB build process would report
    the build's peak. Writing 5 to clear_refs resets it (Linux >= 4.0)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb(fallback: float) -> float:
    """VmHWM (peak RSS since _reset_peak_rss) in MB, else `fallback`."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return fallback


def export_child(url: str, sid: int, n: int, old: bool) -> dict[str, float]:
    """export_rates in a fresh process, so that its peak memory is the export's alone (not the build's)."""
    import json
    import subprocess

    code = ("import json, sys; from bench.scale_bench import export_rates; "
            f"print(json.dumps(export_rates({url!r}, {sid}, {n}, {old})))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def export_main(argv: list[str]) -> list[Row]:
    """The CSV export at each size on SQLite and PostgreSQL side by side: new rows/s, old rows/s (the reader it
    replaced; skipped at sizes over NETSPACE_BENCH_OLD_MAX, default 10^5 — it takes minutes at 10^6), peak RSS."""
    ns, nl = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else SIZES
    url = os.environ.get("NETSPACE_SCALE_DB", DEFAULT_URL)
    old_max = int(os.environ.get("NETSPACE_BENCH_OLD_MAX", "100000"))
    scratch_db(url, create=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            drawn, errs = _drawn(nl)
            ids, t = build(url, (ns, nl), (drawn, errs))
            lite = f"sqlite:///{Path(tmp) / 'scale.db'}"
            lite_ids = {n: bulk_study_sqlite(lite, f"scale-{n}", drawn[:n], errs[:n]) for n in (ns, nl)}
            del drawn
            print(f"built {ns:,} + {nl:,} models on PostgreSQL and SQLite in {time.perf_counter() - t0:.0f}s")
            rows: list[Row] = []
            print(f"\n{'CSV export':<22} {'SQLite rows/s':>14} {'PostgreSQL rows/s':>18}   old reader (ratio)"
                  f"          peak RSS")
            for n in (ns, nl):
                load = os.getloadavg()[0]
                r = {db: export_child(u, i[n], n, n <= old_max)
                     for db, u, i in (("SQLite", lite, lite_ids), ("PostgreSQL", url, ids))}
                olds = ", ".join(f"{db} {v['old']:,.0f} ({v['new'] / v['old']:.1f}x)" for db, v in r.items()
                                 if "old" in v) or "-"
                print(f"{f'{n:,} models':<22} {r['SQLite']['new']:>14,.0f} {r['PostgreSQL']['new']:>18,.0f}   "
                      f"{olds:<28} {r['SQLite']['rss_mb']:.0f} / {r['PostgreSQL']['rss_mb']:.0f} MB "
                      f"(load {load:.1f} -> {os.getloadavg()[0]:.1f})")
                cpu = r["SQLite"]["new_cpu"], r["PostgreSQL"]["new_cpu"]
                print(f"{'  per CPU second':<22} {cpu[0]:>14,.0f} {cpu[1]:>18,.0f}   "
                      "(this process and its children; not PostgreSQL's server)")
                for db, v in r.items():
                    rows += [(f"scale CSV export, {db} ({n:,})", v["new"], "rows/s"),
                             (f"scale CSV export, {db}, per CPU second ({n:,})", v["new_cpu"], "rows/s"),
                             (f"scale CSV export, {db} peak RSS ({n:,})", v["rss_mb"], "MB")]
                    if "old" in v:
                        rows.append((f"scale CSV export, {db}, old reader ({n:,})", v["old"], "rows/s"))
            return rows
    finally:
        if not os.environ.get("NETSPACE_SCALE_KEEP"):
            scratch_db(url, create=False)


def _drawn(n: int) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The first n sampled RegNetX configs and their synthetic errors (what build() loads into PostgreSQL)."""
    study = StudyIn(name="probe", space="RegNetX", dataset={"name": "digits"}, im_size=32)
    drawn = draw_samples({"space": study.space.model_dump(mode="json"), "source": "sampled", "regime": study.regime,
                          "im_size": 32, "num_classes": 10}, n, 0).rows
    return drawn, synthetic_errors(np.array([r["flops"] for r in drawn], dtype=float), 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["export"]:
        export_main(sys.argv[2:])
    else:
        main()

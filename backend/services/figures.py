"""Analysis figures of stored studies: load populations from the database, build figures, write the report.

The API (`GET /api/studies/{id}/figures/{kind}`, `GET /api/figures/{kind}?study=..`) and `netspace report`
are thin over `study_figure` and `report_html`. Every statistic runs over the whole population of each study
(every model with a finite error), never over a page of it.

What is loaded depends on the figure: numbers always (one columnar query, e_fit among them: it is stored, see
services.derived), per-epoch curves and configs only for the best/worst k models a figure draws.
"""

from __future__ import annotations

import datetime as dt
import faulthandler
import html
import json
import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from sqlalchemy import Engine, select

from backend.analysis.curves import best_worst
from backend.analysis.normalized import EmptyBinError
from backend.analysis.table import numeric_columns
from backend.analysis.widths import anynet_stages
from backend.designspace.params import PARAM_NAMES
from backend.fielderrors import InvalidField
from backend.figures import FIGURES, build_figure, error_scatter_figures, to_json
from backend.figures.common import empty
from backend.figures.edf import NORM_HELP
from backend.forkpool import can_fork, default_workers, forked_pool
from db.models import models, results

from .derived import fill_e_fit
from .errors import InvalidInput
from .filters import ModelFilter
from .popcache import VersionedCache, data_version
from .population import Population, cached_population, check_extra_ranges
from .studies import find_study

#: numeric population columns the figures use (loader columns such as status or error_final are left out)
ANALYSIS_COLUMNS = ("id", "error", "flops", "params", "acts", "infer_ms", *PARAM_NAMES, "diverged", "did_not_learn")
MAX_STUDIES = 10
log = logging.getLogger("netspace.figures")


def _configs_for(engine: Engine, ids: Iterable[int]) -> dict[int, Mapping[str, Any] | None]:
    ids = [int(i) for i in ids]
    if not ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(models.c.id, models.c.config).where(models.c.id.in_(ids)))
        return {int(m): anynet_stages(c) for m, c in rows}


def _curves_for(engine: Engine, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = [int(i) for i in ids]
    if not ids:
        return {}
    q = select(results.c.model_id, results.c.test_error, results.c.train_error, results.c.train_loss).where(
        results.c.model_id.in_(ids))
    with engine.connect() as conn:
        return {int(m): {"test_error": te, "train_error": tr, "train_loss": tl}
                for m, te, tr, tl in conn.execute(q).all()}


def _numbers(engine: Engine, study_id: int, flt: ModelFilter | None) -> Population:
    """A study's (filtered) population, shared with the other requests of one dashboard view."""
    return cached_population(engine, study_id, flt)


def load_populations(engine: Engine, study_ids: Sequence[int], *, e_fit: bool = False, extremes_k: int = 0,
                     curves: bool = False, configs: bool = False, flt: ModelFilter | None = None,
                     ) -> dict[str, dict[str, Any]]:
    """label -> population columns for each study (label = study name, made unique with '#id'), of the models
    `flt` keeps (all of them without a filter).

    extremes_k > 0 attaches configs (with `configs`) and curves (with `curves`) of the best and worst k models
    only; `e_fit` adds the e_fit column from every model's config. Unknown studies raise NotFound.
    """
    if not study_ids:
        raise InvalidInput("at least one study is needed", "study")
    if len(study_ids) > MAX_STUDIES:
        raise InvalidInput(f"at most {MAX_STUDIES} studies at once (got {len(study_ids)})", "study")
    out: dict[str, dict[str, Any]] = {}
    for sid in dict.fromkeys(study_ids):
        if e_fit:
            fill_e_fit(engine, sid)  # stored once; only models no one has fitted yet cost anything here
        pop = _numbers(engine, sid, flt)
        cols: dict[str, Any] = {c: pop.columns[c] for c in ANALYSIS_COLUMNS if c in pop.columns}
        cols |= {c: pop.columns[c] for c in (*pop.extra_names, "arch_type")}  # imported columns: axes, importance
        n = len(pop)
        if e_fit:
            cols["e_fit"] = pop.columns["e_fit"]
        if extremes_k:
            rows = np.unique(np.concatenate(best_worst(cols["error"], extremes_k)))
            ids = cols["id"][rows]
            if configs:
                got = _configs_for(engine, ids)
                cols["config"] = [None] * n
                for r, i in zip(rows, ids, strict=True):
                    cols["config"][r] = got.get(int(i))
            if curves:
                curve_of = _curves_for(engine, ids)
                cols["curves"] = [None] * n
                for r, i in zip(rows, ids, strict=True):
                    cols["curves"][r] = curve_of.get(int(i))
        label = pop.study["name"]
        out[label if label not in out else f"{label} #{sid}"] = cols
    return out


def _build(kind: str, pops: dict[str, dict[str, Any]], options: dict[str, Any]) -> go.Figure:
    """build_figure with the figure errors users can cause turned into 422s naming the option."""
    try:
        return build_figure(kind, pops, **options)
    except EmptyBinError as e:
        raise InvalidInput(str(e), "bins") from None
    except ValueError as e:
        if isinstance(e, InvalidField) and e.field == "param":  # scatter: not a population column
            raise InvalidInput.from_error(e, "param") from None
        if kind == "edf_normalized" and ("overlap" in str(e) or "complexity" in str(e)):
            raise InvalidInput(str(e), "by") from None
        raise


def _check_request(kind: str, study_ids: Sequence[int], options: dict[str, Any]) -> None:
    if kind not in FIGURES:
        raise InvalidInput(f"unknown figure kind {kind!r}; allowed: {', '.join(FIGURES.entries())}", "kind")
    entry = FIGURES.get(kind)
    unknown = set(options) - set(entry.options)
    if unknown:
        raise InvalidInput(f"figure {kind!r} takes {list(entry.options) or 'no options'}, "
                           f"not {sorted(unknown)}", sorted(unknown)[0])
    for name in entry.required:
        if options.get(name) is None:
            raise InvalidInput(f"required for the {kind} figure (any parameter or complexity column)"
                               if name == "param" else f"required for the {kind} figure", name)


def _load_for(engine: Engine, kind: str, study_ids: Sequence[int], flt: ModelFilter | None,
              options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The populations figure `kind` draws, loaded with what its registry entry `needs`."""
    entry = FIGURES.get(kind)
    extremes = bool(entry.needs & {"extreme_configs", "extreme_curves"})
    return load_populations(engine, study_ids, e_fit="e_fit" in entry.needs or options.get("param") == "e_fit",
                            extremes_k=int(options.get("k") or 5) if extremes else 0,
                            configs="extreme_configs" in entry.needs, curves="extreme_curves" in entry.needs,
                            flt=flt)


def _draw(kind: str, pops: dict[str, dict[str, Any]], options: dict[str, Any]) -> go.Figure:
    if kind == "edf_normalized" and "bins" not in options and "log" not in options:
        # no binning asked for (the dashboard's view): the report's fallback; too few models to fill any binning
        # is a fact about the data, answered with a figure that says so rather than a request error
        by = options.get("by", "flops")
        got = _normalized_with_fallback(pops, by)
        return got if isinstance(got, go.Figure) else empty(kind, NORM_HELP.format(by=by, bins="10 or 5"), got)
    return _build(kind, pops, options)


def study_figure(engine: Engine, kind: str, study_ids: Sequence[int], flt: ModelFilter | None = None,
                 **options: Any) -> go.Figure:
    """Figure `kind` of one study or an overlay of several (of the models `flt` keeps); options are those the kind
    takes (its registry entry's `options`), and the population is loaded with what the entry `needs`."""
    check_extra_ranges(engine, study_ids, flt)
    _check_request(kind, study_ids, options)
    return _draw(kind, _load_for(engine, kind, study_ids, flt, options), options)


# ------------------------------------------------------------------------------------------------------------
# The API's figure JSON: cached per data version, drawn off the threads that answer cheap requests

#: figure JSON of the views being looked at, keyed by (database, kind, studies, filter, options) and the data
#: version of every study drawn: 50 readers of one unchanged study cost one build, and a result in another
#: study (or an epoch of this one) changes no key
_FIGURES: VersionedCache[bytes] = VersionedCache(64)
#: what the figure cache did, for tests and benchmarks: "build" (drawn) / "hit" (served from the cache)
FIGURE_LOADS: Counter[str] = Counter()
#: drawing moves to a process of the figure pool between these many models (all studies together): below,
#: the build costs less than handing the columns over (~1 ms per 10^4 rows); above, pickling the columns
#: costs more than it saves (a 10^6 EDF is cheap to draw and 200 MB to copy)
POOL_MIN, POOL_MAX = 5_000, 300_000
#: a pool process that has not answered in this long is taken for stuck: the figure is drawn in the thread
POOL_TIMEOUT_S = 120.0
_pool: ProcessPoolExecutor | None = None
_pool_guard = threading.Lock()


def pool_size() -> int:
    """Processes of the figure pool: $NETSPACE_FIGURE_PROCS, else min(2, cores); 0 draws in the request's thread.
    Two, not one per core, because training workers and the server's own threads share the host."""
    env = os.environ.get("NETSPACE_FIGURE_PROCS")
    if env is not None and env.strip().isdigit():
        return int(env)
    return min(2, default_workers())


def start_pool() -> ProcessPoolExecutor | None:
    """Fork the figure pool now (the server's start-up, before it runs threads), or None when it is off.

    Forked, not spawned: a process starts in milliseconds with everything imported. But a fork copies every
    lock as it is, and a lock another thread held at that moment stays held in the child forever: forked in
    the middle of serving, a pool process hung on the import lock of a module a request thread was importing
    (numpy's lazy attributes). So the pool is forked once, at start-up, and never lazily by a request."""
    global _pool
    if pool_size() == 0 or not can_fork():
        return None
    with _pool_guard:
        if _pool is None:
            _pool = forked_pool(pool_size(), _in_pool)
            _pool.submit(int).result()  # a ProcessPoolExecutor forks all its processes on the first submit
        return _pool


def stop_pool() -> None:
    global _pool
    with _pool_guard:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _drawn(pool: ProcessPoolExecutor | None, kind: str, pops: dict[str, dict[str, Any]],
           options: dict[str, Any]) -> tuple[str, Any]:
    """_render in the pool when there is one; in this thread when there is none, when the pool broke (a process
    killed) or when it does not answer within POOL_TIMEOUT_S; a broken or stuck pool is shut down and not forked
    again while the server runs threads (start_pool says why), so figures are drawn in threads until a restart."""
    if pool is not None:
        try:
            return pool.submit(_render, kind, pops, options).result(timeout=POOL_TIMEOUT_S)
        except (BrokenProcessPool, FutureTimeout):
            log.warning("figure pool broken or stuck on %s: shut down, figures drawn in request threads", kind)
            _replace(pool)
    return _render(kind, pops, options)


def _replace(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_guard:
        if _pool is pool:
            _pool = None
    for proc in list(getattr(pool, "_processes", {}).values()):  # a stuck process would never exit by itself
        proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _in_pool() -> None:
    """A pool process prints its Python stack on SIGUSR1 (to the server's log): what a stuck figure waits on."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)


def _render(kind: str, pops: dict[str, dict[str, Any]], options: dict[str, Any]) -> tuple[str, Any]:
    """("json", the figure's JSON) or ("invalid", the FieldErrors of an InvalidInput): what a pool process sends
    back (an InvalidInput pickled whole would lose the field it names)."""
    try:
        return "json", to_json(_draw(kind, pops, options))
    except InvalidInput as e:
        return "invalid", e.errors


@dataclass(frozen=True)
class FigureRequest:
    """A checked figure request: its JSON when the figure cache holds it for the data version of every study it
    draws (`cached`), and `build`, which draws it (once per key at a time) when it does not.

    Two steps so that the caller can run them on different threads: the look-up is one small query, the build
    seconds of loading and drawing; a server answers hits on the threads of its cheap requests and puts
    builds on threads of their own, so that a burst of builds never holds every thread /health waits for."""

    key: tuple
    cached: bytes | None
    build: Callable[[], bytes]


def figure_request(engine: Engine, kind: str, study_ids: Sequence[int], flt: ModelFilter | None = None,
                   **options: Any) -> FigureRequest:
    """Check the request (422s naming the field) and look the figure up in the cache; see FigureRequest.
    A population of POOL_MIN..POOL_MAX models is drawn in a process of the figure pool when the server started
    one (start_pool): the statistics and Plotly's object building of a slow figure (importance, width fits:
    seconds at 20k models) then hold that process's GIL, not the server's, so /models and /health keep
    answering meanwhile. The JSON is kept encoded: a hit sends the cached bytes as they are."""
    check_extra_ranges(engine, study_ids, flt)
    _check_request(kind, study_ids, options)
    ids = tuple(dict.fromkeys(int(i) for i in study_ids))
    with engine.connect() as conn:
        version = tuple(data_version(conn, sid) for sid in ids)
    what = (engine.url.render_as_string(), kind, ids, flt.model_dump_json() if flt else "",
            json.dumps(options, sort_keys=True, default=str))
    key = (what, version)
    got = _FIGURES.get(key)
    if got is not None:
        FIGURE_LOADS["hit"] += 1

    def draw() -> bytes:
        FIGURE_LOADS["build"] += 1
        pops = _load_for(engine, kind, ids, flt, options)
        n = sum(len(p["error"]) for p in pops.values())
        status, body = _drawn(_pool if POOL_MIN <= n <= POOL_MAX else None, kind, pops, options)
        if status == "invalid":
            raise InvalidInput.of(body)
        return str(body).encode()

    return FigureRequest(key, got, lambda: _FIGURES.get_or_load(key, draw))


def study_figure_json(engine: Engine, kind: str, study_ids: Sequence[int], flt: ModelFilter | None = None,
                      **options: Any) -> bytes:
    """study_figure's JSON (backend.figures.to_json, UTF-8), from the figure cache when no study it draws has
    changed since it was drawn: figure_request, then its build on a miss, in this thread."""
    req = figure_request(engine, kind, study_ids, flt, **options)
    return req.cached if req.cached is not None else req.build()


# ------------------------------------------------------------------------------------------------------------
# The static report (pycls's analysis.html for this project)

REPORT_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2a37;background:#f7f9fc}
header{background:#1f2a37;color:#fff;padding:16px 28px} header h1{margin:0;font-size:22px}
main{max-width:1280px;margin:0 auto;padding:12px 28px 40px} nav a{margin-right:12px;color:#1f77b4}
section{background:#fff;border:1px solid #e3e8f0;border-radius:8px;margin:18px 0;padding:12px 18px}
h2{font-size:18px;margin:6px 0} p.help{color:#52606d;margin:4px 0 8px;font-size:14px}
table.studies{border-collapse:collapse;font-size:14px} table.studies td,table.studies th{border-bottom:1px solid
#e3e8f0;padding:4px 10px;text-align:left} p.note{color:#a4330d}
"""


def _study_rows(studies: list[dict[str, Any]]) -> str:
    rows = []
    for s in studies:
        c = s.get("counts", {})
        best = c.get("best_error")
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            s["id"], s["name"], s.get("space_name", ""), (s.get("dataset") or {}).get("name", ""),
            json.dumps(s.get("regime") or {}), c.get("models", ""), c.get("results", ""),
            "" if best is None else f"{best:.3f}")) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("id", "study", "space", "dataset", "regime", "models", "results",
                                            "best error"))
    return f"<table class='studies'><tr>{head}</tr>{''.join(rows)}</table>"


def _normalized_with_fallback(pops: dict[str, dict[str, Any]], by: str) -> go.Figure | str:
    """10 equal bins; else 10 log-spaced ones (a log-sampled open regime); else 5; else why not."""
    reason = ""
    for bins, log in ((10, False), (10, True), (5, True)):
        try:
            return build_figure("edf_normalized", pops, by=by, bins=bins, log=log)
        except (EmptyBinError, ValueError) as e:
            reason = reason or str(e)
    return f"not drawn: {reason}"


def report_figures(engine: Engine, study_ids: Sequence[int], k: int = 5,
                   ) -> list[tuple[str, go.Figure | str]]:
    """(title, figure or a note saying why it is missing) for every section of the report."""
    pops = load_populations(engine, study_ids, e_fit=True, extremes_k=k, configs=True, curves=True)
    out: list[tuple[str, go.Figure | str]] = [("Statistics and KS tests", build_figure("stats", pops)),
                                              ("Error EDF", build_figure("edf", pops))]
    for by in ("flops", "params"):
        out.append((f"EDF normalised by {by}", _normalized_with_fallback(pops, by)))
    out.append(("Random search efficiency", build_figure("random_search", pops)))
    params = list(dict.fromkeys(c for pop in pops.values() for c in numeric_columns(pop)))
    for p, fig in error_scatter_figures(pops, params).items():
        out.append((f"Error vs {p}", fig))
    for kind, title in (("complexity", "Complexity"), ("widths", f"Width curves: best and worst {k}"),
                        ("e_fit", "e_fit vs error"), ("curves", f"Training curves: best and worst {k}"),
                        ("importance", "Parameter importance")):
        out.append((title, build_figure(kind, pops, **({"k": k} if "k" in FIGURES.get(kind).options else {}))))
    return out


def report_html(engine: Engine, study_refs: Sequence[str | int], k: int = 5) -> str:
    """One self-contained HTML page (plotly.js inlined once, no network needed) with every figure."""
    studies = [find_study(engine, ref) for ref in study_refs]
    sections = report_figures(engine, [s["id"] for s in studies], k)
    names = ", ".join(s["name"] for s in studies)
    parts, nav = [], []
    first = True
    for i, (title, fig) in enumerate(sections):
        anchor = f"s{i}"
        nav.append(f"<a href='#{anchor}'>{html.escape(title)}</a>")
        if isinstance(fig, str):
            body = f"<p class='note'>{html.escape(fig)}</p>"
            help_text = ""
        else:
            help_text = fig.layout.meta.get("help", "") if fig.layout.meta else ""
            body = pio.to_html(fig, full_html=False, include_plotlyjs=first, div_id=f"fig{i}",
                               config={"responsive": True, "displaylogo": False})
            first = False
        parts.append(f"<section id='{anchor}'><h2>{html.escape(title)}</h2>"
                     f"<p class='help'>{html.escape(help_text)}</p>{body}</section>")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>netspace analysis: "
            f"{html.escape(names)}</title><style>{REPORT_CSS}</style></head><body><header><h1>netspace analysis: "
            f"{html.escape(names)}</h1><div>generated {stamp}</div></header><main><section><h2>Studies</h2>"
            f"{_study_rows(studies)}<nav>{' '.join(nav)}</nav></section>{''.join(parts)}</main></body></html>")

"""A study's whole population as numpy columns — what the analysis engine builds figures from.

One Core SELECT over models ⟕ results ⟕ jobs, run on the driver's cursor (db.rawsql) and transposed into
arrays (no ORM objects, no per-row processing), so 10^5–10^6 models load in seconds. Missing numbers are NaN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Engine, or_, select

from backend.analysis.failures import FailureCounts, count_failures
from backend.designspace import columns as column_table
from backend.designspace.params import PARAM_NAMES
from backend.fielderrors import FieldError
from db.events import models_changed
from db.models import models, results
from db.rawsql import driver_rows, json_value

from . import snapshot
from .errors import InvalidInput
from .filters import RANGE_COLUMNS, STATUS, ModelFilter, filtered
from .models_query import require_study
from .popcache import VersionedCache, data_version

#: float64 columns (NaN where missing)
FLOAT_COLUMNS = column_table.names("complexity", "result", "sampled", "derived")
#: object columns (str)
TEXT_COLUMNS = ("status", "arch_type")
#: the columns of a whole population, in order (what a snapshot file holds)
_WHOLE_COLUMNS = ["id", "index", "diverged", "did_not_learn", *FLOAT_COLUMNS, *TEXT_COLUMNS]
_SELECT = (models.c.id, models.c.index, results.c.diverged, results.c.did_not_learn, models.c.error,
           results.c.error_final, models.c.flops, models.c.params, models.c.acts, results.c.infer_ms,
           results.c.train_seconds, models.c.e_fit,
           *(models.c[p] for p in PARAM_NAMES), STATUS, models.c.arch_type)


@dataclass
class Population:
    """Column arrays of equal length, in model-id order.

    columns: id (int64), index (int64), diverged and did_not_learn (bool; False without a result or when
    unknown, backend.analysis.failures), every FLOAT_COLUMNS name
    (float64), status and arch_type (object arrays of str), and with extra=True one float64 column per
    numeric key found in models.extra (named by the key, or `extra_<key>` if that name is taken).
    configs: the config JSON dicts in the same order when asked for (configs=True), else None.
    """

    study_id: int
    study: dict[str, Any]
    columns: dict[str, np.ndarray]
    configs: list[dict[str, Any]] | None = None
    extra_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns["id"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    def failures(self, rows: np.ndarray | None = None) -> FailureCounts:
        """How many of the models (of `rows`, a mask or indices; all when None) diverged / did not learn: the
        counts every legend states ("n=48, 1 diverged, 2 did not learn")."""
        return count_failures(self.columns["diverged"], self.columns["did_not_learn"], rows)

    def with_results(self) -> np.ndarray:
        """Boolean mask of models that have a finite error."""
        return np.isfinite(self.columns["error"])


def load_population(engine: Engine, study_id: int, flt: ModelFilter | None = None, *, configs: bool = False,
                    extra: bool = False, where: ColumnElement[bool] | None = None) -> Population:
    """Load every model of a study (that `flt` and `where` keep) as column arrays; raises NotFound for an
    unknown study."""
    cols = list(_SELECT)
    if configs:
        cols.append(models.c.config)
    if extra:
        cols.append(models.c.extra)
    q = filtered(select(*cols), study_id, flt).order_by(models.c.index)  # index order: no sort in the database
    if where is not None:
        q = q.where(where)
    with engine.connect() as conn:
        study = require_study(conn, study_id)
        rows = [r for batch in driver_rows(conn, q) for r in batch]
    table = np.array(rows, dtype=object).reshape(len(rows), len(cols))  # one C-level pass over the tuples
    order = np.argsort(table[:, 0].astype(np.int64), kind="stable") if len(rows) else np.zeros(0, np.int64)
    table = table[order]
    at = {c.key: i for i, c in enumerate(_SELECT)}
    out: dict[str, np.ndarray] = {
        "id": table[:, at["id"]].astype(np.int64),
        "index": table[:, at["index"]].astype(np.int64),
        "diverged": np.array([bool(x) for x in table[:, at["diverged"]]], dtype=bool),
        "did_not_learn": np.array([bool(x) for x in table[:, at["did_not_learn"]]], dtype=bool),
    }
    for name in FLOAT_COLUMNS:
        out[name] = table[:, at[name]].astype(np.float64)  # None -> NaN
    for name in TEXT_COLUMNS:
        out[name] = table[:, at[name]].copy()
    pos = len(_SELECT)
    config_list = None
    if configs:
        config_list = [json_value(c) for c in table[:, pos]]
        pos += 1
    extra_names: list[str] = []
    if extra:
        extra_names = _extra_columns(out, tuple(json_value(e) for e in table[:, pos]))
    return Population(study_id, study, out, config_list, extra_names)


#: whole and best-k populations of the views being looked at, keyed by (engine URL, study, filter) and version
_CACHE: VersionedCache[Population] = VersionedCache(4)
#: how many times a population was read whole ("full") or patched with its changed rows ("update"): what tests
#: and benchmarks count to see that a change elsewhere costs no read here
LOADS: Counter[str] = Counter()
#: a patch reads at most this many changed models (or a quarter of the study, if more); beyond, one full read
PATCH_MAX_ROWS = 2_000
#: a snapshot patched with at least this many re-read rows on load is written anew
RESNAPSHOT_ROWS = 10_000


def cached_population(engine: Engine, study_id: int, flt: ModelFilter | None = None) -> Population:
    """A study's (filtered) population without configs, read once per data version and shared by everything a
    dashboard view asks for at once: the columns it draws in the browser (services.columns) and its figures
    (EDF, curves, scatter panels of the same filter). A filter is cut from the cached whole population in numpy
    (`subset`) instead of read again, so a filter change costs milliseconds, not a 10^5-row read; only best-k
    filters are read from the database. Concurrent callers wait for one read. The arrays are shared between
    requests: callers never write into them."""
    with engine.connect() as conn:
        version = data_version(conn, study_id)
    url = engine.url.render_as_string()
    if flt is None or not flt.top:  # every filter but best-k is cut in numpy from the cached whole
        whole = (url, study_id, "")
        cut = subset(_CACHE.get_or_load((whole, version), lambda: _current(engine, study_id, whole, version)), flt)
        if cut is not None:
            return cut
    key = ((url, study_id, flt.model_dump_json() if flt else ""), version)
    return _CACHE.get_or_load(key, lambda: _read(engine, study_id, flt))


def _read(engine: Engine, study_id: int, flt: ModelFilter | None = None) -> Population:
    LOADS["full"] += 1
    return load_population(engine, study_id, flt, extra=True)


def _current(engine: Engine, study_id: int, what: tuple, version: tuple[int, int, int]) -> Population:
    """The whole population at `version`: the cached one of an older version — or, in a process that holds
    none, the study's snapshot file (services.snapshot) — patched with the rows that changed since (a study in
    training changes a few rows per result: re-read those, not 10^5); else one full read, which then writes
    the snapshot of a large study."""
    held = _CACHE.latest(what)
    kind = "update"
    if held is None:
        held = _from_snapshot(engine, study_id)
        kind = "snapshot"
    if held is not None:
        (old_event, _, old_n), old = held
        if version[2] >= old_n and version[0] >= old_event:
            got = _patched(engine, study_id, old, old_event)
            if got is not None and len(got[0]) == version[2]:
                patched, reread = got
                LOADS[kind] += 1
                if kind == "snapshot" and reread >= RESNAPSHOT_ROWS:
                    snapshot.save_later(engine, patched.study, patched.columns, version)  # keep the next patch short
                return patched
    pop = _read(engine, study_id)
    if len(pop) >= snapshot.SNAPSHOT_MIN:
        snapshot.save_later(engine, pop.study, pop.columns, version)
    return pop


def _from_snapshot(engine: Engine, study_id: int) -> tuple[tuple[int, ...], Population] | None:
    with engine.connect() as conn:
        study = require_study(conn, study_id)
    if int(study.get("n_models") or 0) < snapshot.SNAPSHOT_MIN:
        return None
    got = snapshot.load(engine, study, _WHOLE_COLUMNS)
    if got is None:
        return None
    return got[0], Population(study_id, study, got[1], extra_names=list(got[1])[len(_WHOLE_COLUMNS):])


def _patched(engine: Engine, study_id: int, old: Population, after_event: int,
             ) -> tuple[Population, int] | None:
    """`old` with the models that events after `after_event` name re-read and the models added since appended
    (models are only ever added to a study, with ids above every older one), and how many rows were re-read;
    None when the log cannot say what changed or when so much did that one full read is cheaper."""
    limit = max(PATCH_MAX_ROWS, len(old) // 4)
    with engine.connect() as conn:
        changed = models_changed(conn, study_id, after_event, limit)
    if changed is None:
        return None
    top = int(old["id"].max()) if len(old) else 0
    delta = load_population(engine, study_id, where=or_(models.c.id.in_(changed), models.c.id > top), extra=True)
    if len(delta) > limit:
        return None
    if len(delta) == 0 and not delta.extra_names:  # nothing changed since (a restart's snapshot, mostly): no copy
        return Population(study_id, delta.study, old.columns, extra_names=old.extra_names), 0
    names = list(dict.fromkeys([*old.extra_names, *delta.extra_names]))
    old, delta = _with_columns(old, names), _with_columns(delta, names)  # a key only one side has: NaN
    ids = old["id"]
    pos = np.searchsorted(ids, delta["id"])
    held = pos < len(ids)
    held[held] = ids[pos[held]] == delta["id"][held]
    columns = {}
    for name, col in old.columns.items():
        out = col.copy()  # the cached arrays are shared with requests in flight: never written in place
        out[pos[held]] = delta[name][held]
        columns[name] = np.concatenate([out, delta[name][~held]])
    if bool(held.all()) or len(ids) == 0 or bool(delta["id"][~held].min() > ids[-1]):
        # rows re-read in place and new ones after them (ids only grow): already in id order, no 10^6 sort
        return Population(study_id, delta.study, columns, extra_names=names), len(delta)
    order = np.argsort(columns["id"], kind="stable")
    return Population(study_id, delta.study, {k: v[order] for k, v in columns.items()}, extra_names=names), \
        len(delta)


def _with_columns(pop: Population, extra_names: list[str]) -> Population:
    """`pop` with every one of `extra_names` (NaN where it had none), in that order after the others."""
    base = {k: v for k, v in pop.columns.items() if k not in pop.extra_names}
    nan = np.full(len(pop), np.nan)
    return Population(pop.study_id, pop.study, base | {n: pop.columns.get(n, nan) for n in extra_names},
                      extra_names=list(extra_names))


def subset(pop: Population, flt: ModelFilter | None) -> Population | None:
    """`pop` (loaded without a filter and without configs/extras) cut down to what `flt` keeps, in numpy: the
    same rows, in the same order, as load_population(flt) reads — ranges exclude NaN (SQL NULL) as SQL does.
    None when the filter needs the database (`top`: best k among the rest, ties broken by SQL's order)."""
    if flt is None or not flt.active():
        return pop
    if flt.top or pop.configs is not None:
        return None
    keep = np.ones(len(pop), dtype=bool)
    for name in RANGE_COLUMNS:
        lo, hi = getattr(flt, f"{name}_min"), getattr(flt, f"{name}_max")
        col = pop.columns[name]
        with np.errstate(invalid="ignore"):
            if lo is not None:
                keep &= col >= lo
            if hi is not None:
                keep &= col <= hi
    if flt.status is not None:
        keep &= np.isin(pop.columns["status"], flt.status)
    if flt.arch_type is not None:
        keep &= pop.columns["arch_type"] == flt.arch_type
    if flt.ids is not None:
        keep &= np.isin(pop.columns["id"], np.asarray(flt.ids, dtype=np.int64))
    if flt.exclude_failures:
        keep &= ~(pop.columns["diverged"] | pop.columns["did_not_learn"])
    for name, (lo, hi) in (flt.extra_ranges or {}).items():
        extra = pop.columns.get(name) if name in pop.extra_names else None
        if extra is None:  # a column the study lacks: NULL everywhere, which no range keeps
            keep[:] = False
            continue
        with np.errstate(invalid="ignore"):
            if lo is not None:
                keep &= extra >= lo
            if hi is not None:
                keep &= extra <= hi
    return Population(pop.study_id, pop.study, {k: v[keep] for k, v in pop.columns.items()},
                      extra_names=pop.extra_names)


def _extra_columns(out: dict[str, np.ndarray], extras: tuple) -> list[str]:
    """One float64 column per numeric key of the models' `extra` dicts (NaN where a model lacks it), named by
    the key (`extra_<key>` if taken) in column_table.extra_order. An importer writes the same keys in the same
    order for most models, so the rows are grouped by their key layout and each group converts in one numpy
    call; a group holding text converts key by key (text and bools become NaN)."""
    rows = [e if isinstance(e, dict) else {} for e in extras]
    layouts: dict[tuple[str, ...], list[int]] = {}
    for i, e in enumerate(rows):
        layouts.setdefault(tuple(e), []).append(i)
    keys = column_table.extra_order(dict.fromkeys(k for layout in layouts for k in layout))
    cols = {k: np.full(len(rows), np.nan) for k in keys}
    for layout, idx in layouts.items():
        if not layout:
            continue
        at = np.asarray(idx, dtype=np.int64)
        try:
            block = np.array([tuple(rows[i].values()) for i in idx], dtype=np.float64).reshape(len(idx), len(layout))
        except (TypeError, ValueError):  # text among the values: key by key, numbers only
            for k in layout:
                cols[k][at] = [v if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
                               for v in (rows[i][k] for i in idx)]
            continue
        for j, k in enumerate(layout):
            cols[k][at] = block[:, j]
    names = []
    for k in keys:
        if np.isnan(cols[k]).all():
            continue
        name = k if k not in out else f"extra_{k}"
        out[name] = cols[k]
        names.append(name)
    return names


def check_extra_ranges(engine: Engine, study_ids: Sequence[int], flt: ModelFilter | None) -> None:
    """An InvalidInput naming `<name>_min` (or `_max`) for a range on a column none of the studies has, with the
    columns they have: a typo is a 422, not a silently empty result."""
    if flt is None or not flt.extra_ranges:
        return
    known: set[str] = set()
    for sid in study_ids:
        known.update(cached_population(engine, sid).extra_names)
    for name, (lo, _) in flt.extra_ranges.items():
        if name not in known:
            allowed = ", ".join([*RANGE_COLUMNS, *column_table.extra_order(known)])
            raise InvalidInput.of([FieldError(f"{name}_{'min' if lo is not None else 'max'}",
                                              f"unknown column {name!r}: the study has no such column", allowed)])

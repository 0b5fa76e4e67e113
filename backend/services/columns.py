"""A study's whole population as typed columns for the dashboard (GET /api/studies/{id}/population).

The dashboard filters, sorts and scatters in the browser (a filter change on 10^5 models must redraw in
< 0.5 s, no round trip), so it loads every model's numbers once. The binary form is typed little-endian arrays
behind a small JSON header — no per-number text to print or parse:

    b"NSP1" | uint32 LE header length | header JSON (space-padded so the data starts 8-byte aligned) | data
    header = {"n", "study_id", "status_names", "failure_names", "columns": [{"name", "dtype", "offset", ...}],
              "extra_columns": [Column, ...]}
    (dtype: uint8, int8, uint16, int16, uint32, int32, float32 or float64 — each column in the narrowest that
    holds its values exactly, see `narrow`; "decimals": k where the column is sent as integers q standing for
    q / 10**k; offset: into data, a multiple of 8; value columns also carry
    "min" and "max" of their present values where both are finite; `failure` is a uint8 code into
    failure_names: none, diverged, did_not_learn;
    extra_columns: the descriptions (label, unit, log, ...) of the study's imported columns, which follow
    the listed ones in `columns` and are described nowhere else)

Rows are the study's population as services.population reads it (the one reader: the figures of the same view
use the same read, cached per data version). Columns with no value at all (w0 in an AnyNet study, d_5 in a
4-stage one) are left out, except ALWAYS.

Reading 10^5 rows costs about a second, most of a cold page open. Encoded bodies are therefore cached per
engine by data version (services.popcache), loaded once however many requests ask at the same moment, and the
server warms the largest recent studies when it starts (`warm`), so that the first visit after a restart
does not pay for the read while the browser is busy compiling plotly.js.
"""

from __future__ import annotations

import json
import struct

import numpy as np
from sqlalchemy import Engine, select

from backend.designspace import columns as column_table
from db.models import studies

from .filters import STATUSES
from .popcache import VersionedCache, data_version
from .population import cached_population

MAGIC = b"NSP1"
#: value columns in the order sent (ids and status codes come first)
VALUE_COLUMNS = ("error", *(n for n in column_table.names("complexity", "result", "sampled", "derived")
                             if n != "error"))
#: sent even when empty (a study whose jobs are all queued still has an error column, of NaNs)
ALWAYS = ("error", "flops", "params", "acts")
CACHE_SIZE = 4
#: studies smaller than this load fast enough not to be warmed at start
WARM_MIN_MODELS = 5_000


#: learning-failure codes of the `failure` column (backend.analysis.failures), in code order
FAILURES = ("none", "diverged", "did_not_learn")


class Columns:
    """n rows: ids (int32), status codes (uint8, names in STATUSES), learning-failure codes (uint8, names in
    FAILURES) and float64 value columns (NaN = missing)."""

    def __init__(self, study_id: int, ids: np.ndarray, status: np.ndarray, values: dict[str, np.ndarray],
                 failure: np.ndarray | None = None, extra_names: list[str] | None = None):
        self.study_id = study_id
        #: the names in `values` that are the study's imported (extra) columns
        self.extra_names = extra_names or []
        self.ids = ids
        self.status = status
        self.values = values
        self.failure = np.zeros(len(ids), dtype=np.uint8) if failure is None else failure

    def __len__(self) -> int:
        return len(self.ids)


def load_columns(engine: Engine, study_id: int) -> Columns:
    """Every model of the study in id order, from the population its figures read too (one read per data
    version serves both: services.population.cached_population); raises NotFound for an unknown study."""
    pop = cached_population(engine, study_id)
    codes = {s: i for i, s in enumerate(STATUSES)}
    other = len(STATUSES) - 1
    status = np.fromiter((codes.get(s, other) for s in pop["status"]), dtype=np.uint8, count=len(pop))
    values = {}
    for name in VALUE_COLUMNS:
        col = pop[name]
        if name in ALWAYS or not np.isnan(col).all():
            values[name] = col
    extras = [name for name in pop.extra_names if not np.isnan(pop[name]).all()]
    values |= {name: pop[name] for name in extras}
    failure = np.where(pop["diverged"], 1, np.where(pop["did_not_learn"], 2, 0)).astype(np.uint8)
    return Columns(study_id, pop["id"].astype(np.int32), status, values, failure, extras)


def extra_descriptions(cols: Columns) -> list[dict]:
    """The descriptions of the study's imported columns (backend.designspace.columns.describe)."""
    return [column_table.describe(name).model_dump() for name in cols.extra_names]


def study_columns(engine: Engine, study_id: int) -> list[column_table.Column]:
    """Every column the study's population has a value in, described: listed ones in table order, then its
    imported (extra) ones (GET /api/studies/{id}/columns)."""
    cols = load_columns(engine, study_id)
    return column_table.columns_for(list(cols.values))


#: integer dtypes a whole-valued column may be sent as, narrowest first (name, numpy little-endian dtype)
INT_DTYPES = (("uint8", "u1"), ("int8", "i1"), ("uint16", "<u2"), ("int16", "<i2"),
              ("uint32", "<u4"), ("int32", "<i4"))


#: the first values `narrow` tries a form on before the whole column (a cheap early no for 10^6 values)
SAMPLE = 4096
#: most decimal places a fractional column may be sent with as scaled integers (`narrow`)
MAX_DECIMALS = 6


def _as_int(v: np.ndarray) -> tuple[np.ndarray, str] | None:
    """Whole values in the narrowest integer dtype that holds them all, or None if none does."""
    lo, hi = float(v.min()), float(v.max())
    for name, dt in INT_DTYPES:
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return v.astype(dt), name
    return None


def narrow(values: np.ndarray) -> tuple[np.ndarray, str, int]:
    """The narrowest lossless form of a float64 column: (array, dtype name, decimals). At 10^6 models the body
    is ~30 columns x 8 bytes per model, and most columns (depths, widths, groups, counts, flops) are whole
    numbers that fit 1-4 bytes, and sampled ones (wa 66.6, wm 1.599) have few decimals: those go as integers
    q with `decimals` k > 0, the value being q / 10**k — sent so only where that division gives back every
    value bit for bit (IEEE division is the same in numpy and JS). A column with a missing value (NaN) stays
    float: integer arrays hold no NaN, and the dashboard reads NaN as missing. float32 only where every
    value survives the round trip exactly, so the browser sees the very numbers format=json sends."""
    v = np.asarray(values, dtype=np.float64)
    whole = len(v) > 0 and not np.isnan(v).any()
    if whole and np.array_equal(v, np.trunc(v)) and (got := _as_int(v)) is not None:
        return (*got, 0)
    best: tuple[np.ndarray, str, int] = (v.astype("<f8"), "float64", 0)
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, fails the check below: float64
        f32 = v[:SAMPLE].astype("<f4")
        if np.array_equal(f32.astype(np.float64), v[:SAMPLE], equal_nan=True):
            f32 = v.astype("<f4")
    if len(f32) == len(v) and np.array_equal(f32.astype(np.float64), v, equal_nan=True):
        best = (f32, "float32", 0)
    if whole and np.isfinite(v).all():
        head = v[:SAMPLE]
        for k in range(1, MAX_DECIMALS + 1):
            scale = 10.0 ** k
            with np.errstate(over="ignore", invalid="ignore"):
                if not np.array_equal(np.round(head * scale) / scale, head):
                    continue  # most full-precision columns (errors, timings) fail on the first values
                q = np.round(v * scale)
            if np.isfinite(q).all() and np.array_equal(q / scale, v):
                got = _as_int(q)
                if got is not None and got[0].itemsize < best[0].itemsize:
                    best = (*got, k)
                break
    return best


def value_range(values: np.ndarray | None) -> dict[str, float]:
    """{"min", "max"} of a value column's present values when both are finite (JSON holds no inf), else {}:
    the filter panel shows every column's range, a scan of ~30 columns x 10^6 values in the browser otherwise."""
    if values is None or not len(values) or np.isnan(values).all():
        return {}
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    return {"min": lo, "max": hi} if np.isfinite(lo) and np.isfinite(hi) else {}


def encode_binary(cols: Columns) -> bytes:
    """The `format=bin` body; column offsets count from the data start, the first 8-byte boundary after
    the header. Value columns come in the narrowest dtype that holds them exactly (`narrow`)."""
    arrays = [("id", *narrow(cols.ids)), ("status", cols.status.astype("u1"), "uint8", 0),
              ("failure", cols.failure.astype("u1"), "uint8", 0),
              *((k, *narrow(v)) for k, v in cols.values.items())]
    meta, chunks, offset = [], [], 0
    for name, arr, dtype, decimals in arrays:
        meta.append({"name": name, "dtype": dtype, "offset": offset, **({"decimals": decimals} if decimals else {}),
                     **value_range(cols.values.get(name))})
        b = arr.tobytes()
        chunks.append(b + b"\0" * (-len(b) % 8))
        offset += len(chunks[-1])
    header = {"n": len(cols), "study_id": cols.study_id, "status_names": list(STATUSES),
              "failure_names": list(FAILURES), "columns": meta, "extra_columns": extra_descriptions(cols)}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-(8 + len(raw)) % 8)
    return b"".join([MAGIC, struct.pack("<I", len(raw)), raw, *chunks])


def encode_json(cols: Columns) -> dict:
    def plain(a: np.ndarray) -> list:
        return [None if np.isnan(x) else (int(x) if x.is_integer() else float(x)) for x in a.tolist()]

    return {"n": len(cols), "study_id": cols.study_id, "status_names": list(STATUSES),
            "extra_columns": extra_descriptions(cols),
            "columns": {"id": cols.ids.tolist(), "status": [STATUSES[s] for s in cols.status.tolist()],
                        "failure": [FAILURES[f] for f in cols.failure.tolist()],
                        **{k: plain(v) for k, v in cols.values.items()}}}


def cache_of(engine: Engine) -> VersionedCache[bytes]:
    """The engine's cache of encoded bodies (one per app engine: tests run several apps in one process)."""
    cache = getattr(engine, "_netspace_population_cache", None)
    if cache is None:
        cache = VersionedCache(CACHE_SIZE)
        setattr(engine, "_netspace_population_cache", cache)  # noqa: B010 - a private attribute of our own
    return cache


def population_body(engine: Engine, study_id: int) -> bytes:
    """The `format=bin` body of the study's current data: cached, and read once when many ask together."""
    with engine.connect() as conn:
        key = (study_id, data_version(conn, study_id))
    return cache_of(engine).get_or_load(key, lambda: encode_binary(load_columns(engine, study_id)))


def warm(engine: Engine, limit: int = CACHE_SIZE) -> list[int]:
    """Load the bodies of the `limit` newest studies of at least WARM_MIN_MODELS models; returns their ids.
    Runs in the background at server start; a request for one of them meanwhile waits for this read."""
    with engine.connect() as conn:  # studies.n_models: no count over every model at start
        ids = conn.execute(select(studies.c.id).where(studies.c.n_models >= WARM_MIN_MODELS)
                           .order_by(studies.c.id.desc()).limit(limit)).scalars().all()
    for study_id in ids:
        population_body(engine, study_id)
    return list(ids)

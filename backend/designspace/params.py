"""Flat, filterable parameters of a canonical config (what the database indexes and plots use).

Paper conventions: d total depth, w0/wa/wm the RegNet law (RegNet samples only), g group width and
b bottleneck ratio when shared by all stages, and per-stage d_i, w_i, g_i, b_i numbered from 1. The names
are the `sampled` columns of the column table (columns.yaml), in its order.
"""

from __future__ import annotations

from . import columns
from .config import AnyNetConfig

MAX_STAGE_COLUMNS = columns.stage_columns()  # per-stage columns kept flat; deeper stages stay in the config JSON
GLOBAL_PARAMS = columns.names("sampled", stage=False)
PARAM_NAMES: tuple[str, ...] = columns.names("sampled")
STAGE_PARAMS = tuple(dict.fromkeys(n.rsplit("_", 1)[0] for n in columns.names("sampled", stage=True)))
#: columns drawn on a log axis (log-sampled parameters, complexities)
LOG_SCALE = frozenset(c.name for c in columns.columns().values() if c.log)


#: the per-stage column names of stage i (0-based), precomputed: flat_params runs once per model on imports
_STAGE_KEYS = tuple(tuple(f"{p}_{i + 1}" for p in STAGE_PARAMS) for i in range(MAX_STAGE_COLUMNS))


def _shared(values: list[float]) -> float | None:
    return values[0] if values and values.count(values[0]) == len(values) else None


def flat_params(cfg: AnyNetConfig) -> dict[str, float | None]:
    b_stage = [1.0 / bm for bm in cfg.bot_muls]
    out: dict[str, float | None] = dict.fromkeys(PARAM_NAMES)
    out["d"] = float(sum(cfg.depths))
    out["g"] = _shared(list(map(float, cfg.group_ws)))
    out["b"] = _shared(b_stage)
    if cfg.regnet is not None:
        out["w0"], out["wa"], out["wm"] = float(cfg.regnet.w0), cfg.regnet.wa, cfg.regnet.wm
    # zip stops at MAX_STAGE_COLUMNS stages
    for keys, d, w, g, b in zip(_STAGE_KEYS, cfg.depths, cfg.widths, cfg.group_ws, b_stage, strict=False):
        out.update(zip(keys, (float(d), float(w), float(g), b), strict=True))
    return out

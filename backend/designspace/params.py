"""Flat, filterable parameters of a canonical config (what the database indexes and plots use).

Paper conventions: d total depth, w0/wa/wm the RegNet law (RegNet samples only), g group width and
b bottleneck ratio when shared by all stages, and per-stage d_i, w_i, g_i, b_i numbered from 1.
"""

from __future__ import annotations

from .config import AnyNetConfig

MAX_STAGE_COLUMNS = 5  # per-stage columns kept flat; deeper stage lists stay in the config JSON
GLOBAL_PARAMS = ("d", "w0", "wa", "wm", "g", "b")
STAGE_PARAMS = ("d", "w", "g", "b")
PARAM_NAMES: tuple[str, ...] = GLOBAL_PARAMS + tuple(
    f"{p}_{i}" for p in STAGE_PARAMS for i in range(1, MAX_STAGE_COLUMNS + 1)
)
#: parameters sampled on a log scale (plots use a log axis for them)
LOG_SCALE = {"w0", "wa", "wm", "g", "flops", "params", "acts"} | {f"w_{i}" for i in range(1, 9)}


def _shared(values: list[float]) -> float | None:
    return values[0] if values and all(v == values[0] for v in values) else None


def flat_params(cfg: AnyNetConfig) -> dict[str, float | None]:
    b_stage = [1.0 / bm for bm in cfg.bot_muls]
    out: dict[str, float | None] = dict.fromkeys(PARAM_NAMES)
    out["d"] = float(cfg.depth)
    out["g"] = _shared([float(g) for g in cfg.group_ws])
    out["b"] = _shared(b_stage)
    if cfg.regnet is not None:
        out["w0"], out["wa"], out["wm"] = float(cfg.regnet.w0), cfg.regnet.wa, cfg.regnet.wm
    for i in range(min(len(cfg.depths), MAX_STAGE_COLUMNS)):
        out[f"d_{i + 1}"] = float(cfg.depths[i])
        out[f"w_{i + 1}"] = float(cfg.widths[i])
        out[f"g_{i + 1}"] = float(cfg.group_ws[i])
        out[f"b_{i + 1}"] = b_stage[i]
    return out

"""Config export formats: JSONL/CSV rows, pycls YAML and timm RegNet kwargs (pure functions).

A *record* is a dict with at least `config` (canonical AnyNet JSON) and `flops`/`params`/`acts`; stored
models add `id`, `error` and other result fields. The CLI, the API and the importer share these writers
so an export read back by the importer gives the same population.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import yaml

from .config import AnyNetConfig
from .params import PARAM_NAMES, flat_params

LEAD_COLUMNS = ("id", "index", "name", "status", "error", "error_final", "diverged", "flops", "params", "acts",
                "train_seconds", "infer_ms", "epochs_done")


def jsonl_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for r in records:
        yield json.dumps(r, separators=(",", ":")) + "\n"


def csv_columns(records_sample: dict[str, Any] | None = None) -> list[str]:
    lead = [c for c in LEAD_COLUMNS if records_sample is None or c in records_sample]
    return [*lead, *PARAM_NAMES, "config"]


def csv_row(record: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    cfg = AnyNetConfig.model_validate(record["config"])
    row = {c: record.get(c) for c in columns if c not in PARAM_NAMES and c != "config"}
    row.update(flat_params(cfg))
    row["config"] = json.dumps(record["config"], sort_keys=True, separators=(",", ":"))
    return row


def csv_lines(records: Iterable[dict[str, Any]], columns: list[str] | None = None) -> Iterator[str]:
    """Stream CSV text, header first; columns default to those present in the first record."""
    buf = io.StringIO()
    writer: csv.DictWriter | None = None
    for r in records:
        if writer is None:
            writer = csv.DictWriter(buf, fieldnames=columns or csv_columns(r), extrasaction="ignore")
            writer.writeheader()
        writer.writerow(csv_row(r, writer.fieldnames))
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if writer is None:
        yield ",".join(columns or csv_columns()) + "\n"


def pycls_config(cfg: AnyNetConfig, im_size: int = 224, num_classes: int = 1000) -> dict[str, Any]:
    """A pycls config (MODEL.TYPE anynet) that rebuilds exactly this network; REGNET.* kept for reference."""
    out: dict[str, Any] = {
        "MODEL": {"TYPE": "anynet", "NUM_CLASSES": num_classes},
        "ANYNET": {
            "STEM_TYPE": cfg.stem_type, "STEM_W": cfg.stem_w, "BLOCK_TYPE": cfg.block_type,
            "DEPTHS": list(cfg.depths), "WIDTHS": list(cfg.widths), "STRIDES": list(cfg.strides),
            "BOT_MULS": list(cfg.bot_muls), "GROUP_WS": list(cfg.group_ws), "HEAD_W": cfg.head_w,
            "SE_ON": cfg.se_r > 0, "SE_R": cfg.se_r if cfg.se_r > 0 else 0.25,
        },
        "TRAIN": {"IM_SIZE": im_size},
        "TEST": {"IM_SIZE": int(round(im_size * 256 / 224))},
    }
    if cfg.regnet is not None:
        r = cfg.regnet
        out["REGNET"] = {"DEPTH": r.depth, "W0": r.w0, "WA": r.wa, "WM": r.wm, "GROUP_W": r.group_w,
                         "BOT_MUL": r.bot_mul, "SE_ON": cfg.se_r > 0, "SE_R": cfg.se_r if cfg.se_r > 0 else 0.25,
                         "STEM_TYPE": cfg.stem_type, "STEM_W": cfg.stem_w, "BLOCK_TYPE": cfg.block_type,
                         "STRIDE": cfg.strides[0]}
    return out


def pycls_yaml(cfg: AnyNetConfig, im_size: int = 224, num_classes: int = 1000, desc: str = "") -> str:
    data = pycls_config(cfg, im_size, num_classes)
    if desc:
        data = {"DESC": desc, **data}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def timm_kwargs(cfg: AnyNetConfig) -> dict[str, Any] | None:
    """Keyword arguments of timm's `RegNetCfg` for a RegNet model (None for a free-form AnyNet)."""
    if cfg.regnet is None:
        return None
    r = cfg.regnet
    return {"depth": r.depth, "w0": r.w0, "wa": r.wa, "wm": r.wm, "group_size": r.group_w,
            "bottle_ratio": r.bot_mul, "se_ratio": cfg.se_r, "stem_width": cfg.stem_w}

"""Config export formats: JSONL/CSV rows, pycls YAML and timm RegNet kwargs (pure functions).

A *record* is a dict with at least `config` (canonical AnyNet JSON) and `flops`/`params`/`acts`; stored
models add `id`, `error` and other result fields. The CLI, the API and the importer share these writers
so an export read back by the importer gives the same population.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson
import yaml

from .config import AnyNetConfig
from .params import PARAM_NAMES, flat_params

PARAM_SET = frozenset(PARAM_NAMES)
LEAD_COLUMNS = ("id", "index", "name", "status", "error", "error_final", "diverged", "did_not_learn", "flops",
                "params", "acts", "train_seconds", "infer_ms", "epochs_done")


def jsonl_lines(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One compact JSON object a line (orjson: ~5x the stdlib's speed, the same text for these records)."""
    for r in records:
        yield orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE).decode()


def csv_columns(records_sample: dict[str, Any] | None = None) -> list[str]:
    lead = [c for c in LEAD_COLUMNS if records_sample is None or c in records_sample]
    return [*lead, *PARAM_NAMES, "config"]


def flat_params_of(record: dict[str, Any]) -> dict[str, Any]:
    """The record's flat parameters: its own columns when it carries them all (stored models do), else
    derived from its canonical AnyNet config; None for an architecture that is not AnyNet (imported NAS)."""
    if all(k in record for k in PARAM_NAMES):
        return record
    config = record.get("config") or {}
    if config.get("type", "anynet") != "anynet":
        return {k: record.get(k) for k in PARAM_NAMES}
    return flat_params(AnyNetConfig.model_validate(config))


def config_text(config: Any) -> str:
    """The canonical text of a config: sorted keys, no spaces (byte for byte what json.dumps(sort_keys=True,
    separators=(",", ":")) writes for the floats these configs hold; orjson is ~10x faster on 10^5 rows)."""
    return orjson.dumps(config, option=orjson.OPT_SORT_KEYS).decode()


def csv_row(record: dict[str, Any], columns: list[str], has_params: bool | None = None) -> list[Any]:
    """One CSV row (a list in `columns` order). `has_params`: the records carry the flat parameter columns
    themselves (decided once per stream by csv_lines; None = check this record)."""
    if has_params is None:
        has_params = all(k in record for k in PARAM_NAMES)
    flat = record if has_params else flat_params_of(record)
    return [config_text(record["config"]) if c == "config" else flat.get(c) if c in PARAM_SET else record.get(c)
            for c in columns]


def csv_table(columns: list[str], rows: Iterable[Sequence[Any]], batch: int = 1000) -> Iterator[str]:
    """CSV text of `rows` (sequences in `columns` order) in pieces of `batch` rows, header first. Stored
    models come here straight from the database cursor, already in column order (services.export)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    it = iter(rows)
    while chunk := list(itertools.islice(it, batch)):
        writer.writerows(chunk)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue()


def csv_lines(records: Iterable[dict[str, Any]], columns: list[str] | None = None) -> Iterator[str]:
    """CSV text of record dicts, header first; columns default to those of the first record."""
    rows = iter(records)
    first = next(rows, None)
    cols = columns or csv_columns(first)
    if first is None:
        yield from csv_table(cols, ())
        return
    has_params = all(k in first for k in PARAM_NAMES)
    yield from csv_table(cols, (csv_row(r, cols, has_params) for r in itertools.chain([first], rows)))


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


def record_anynet_dict(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The stored AnyNet config of a model, unvalidated: its own config (arch_type anynet), or the AnyNet an
    importer mapped it onto (an NDS ResNet / ResNeXt / Vanilla keeps it as config["anynet"]); None for any other
    architecture. Cheap enough to ask of every model before an export writes any of them."""
    config = record.get("config") or {}
    if record.get("arch_type") == "anynet":
        return config
    mapped = config.get("anynet") if isinstance(config, dict) else None
    return mapped or None


def record_anynet(record: Mapping[str, Any]) -> AnyNetConfig | None:
    """record_anynet_dict, validated as an AnyNetConfig."""
    config = record_anynet_dict(record)
    return None if config is None else AnyNetConfig.model_validate(config)


def timm_kwargs(cfg: AnyNetConfig) -> dict[str, Any] | None:
    """Keyword arguments of timm's `RegNetCfg` for a RegNet model (None for a free-form AnyNet)."""
    if cfg.regnet is None:
        return None
    r = cfg.regnet
    return {"depth": r.depth, "w0": r.w0, "wa": r.wa, "wm": r.wm, "group_size": r.group_w,
            "bottle_ratio": r.bot_mul, "se_ratio": cfg.se_r, "stem_width": cfg.stem_w}

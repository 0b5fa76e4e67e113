"""Our own exports read back: JSONL, CSV (backend.designspace.exports) and the JSON list form.

The contract is a lossless round trip: exporting a study and importing the file gives the same
population — the same errors (hence the same EDF), complexities, configs and parameter columns. Floats
survive because both writers print `repr` (shortest round-trip form); the parameter columns are not
read from the CSV but recomputed from the canonical config with the same `flat_params` the export used.

JSON records must carry JSON types (a quoted number is a wrong type); CSV cells are text by nature and
are converted here, with the same one-line errors naming the record and the column.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from backend.designspace.config import AnyNetConfig
from backend.designspace.exports import csv_columns
from backend.designspace.params import PARAM_NAMES, flat_params

from .nds import optim_params
from .nds_nets import flatten_net, zero_fill_ops
from .records import (
    BadRecord,
    ImportFormatError,
    ModelRecord,
    Plan,
    Population,
    RecordError,
    ResultRecord,
    as_count,
    as_number,
    canonical_hash,
    check_error,
    curve,
    empty_columns,
    raw_config_hash,
    validation_error,
)
from .source import csv_items, jsonl_lines, jsonl_object, load_json, parsing_spans, split_list

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")
_PLAIN = frozenset((int, float, type(None)))
NUMBERS = ("error", "error_final", "flops", "params", "acts", "train_seconds", "infer_ms", "epochs_done")


class _Fields:
    """Typed access to one record; `cells` says the values are CSV text to convert."""

    def __init__(self, rec: Any, label: str, cells: bool) -> None:
        if not isinstance(rec, dict):
            raise RecordError(label, None, f"must be an object, got {type(rec).__name__}")
        self.rec, self.label, self.cells = rec, label, cells

    def raw(self, key: str) -> Any:
        v = self.rec.get(key)
        return None if self.cells and v == "" else v

    def number(self, key: str, required: bool = False) -> float | None:
        v = self.raw(key)
        if v is None:
            if required:
                raise RecordError(self.label, key, "missing")
            return None
        if self.cells:
            try:
                v = float(v)
            except ValueError:
                raise RecordError(self.label, key, f"must be a number, got {v!r:.40}") from None
        return as_number(v, self.label, key)

    def numbers(self, keys: tuple[str, ...]) -> list[float | None]:
        """Several optional numbers at once: one C-level type check when they are plain JSON numbers
        (the common case), else field by field with the per-field messages."""
        vals = [self.rec.get(k) for k in keys]
        plain = not self.cells and set(map(type, vals)) <= _PLAIN
        if plain and math.isfinite(math.fsum(v for v in vals if v is not None)):
            return vals
        return [self.number(k) for k in keys]

    def count(self, key: str, required: bool = False) -> int | None:
        x = self.number(key, required)
        return None if x is None else as_count(x, self.label, key)

    def json_value(self, key: str) -> Any:
        v = self.raw(key)
        if self.cells and isinstance(v, str):
            try:
                return json.loads(v)
            except json.JSONDecodeError as e:
                raise RecordError(self.label, key, f"malformed JSON: {e.msg} at column {e.colno}") from None
        return v

    def flag(self, key: str) -> bool | None:
        v = self.raw(key)
        if v is None or isinstance(v, bool):
            return v
        if self.cells and str(v).strip().lower() in _TRUE + _FALSE:
            return str(v).strip().lower() in _TRUE
        raise RecordError(self.label, key, f"must be true or false, got {v!r:.40}")


def _config(f: _Fields, arch_type: str | None) -> tuple[str, dict[str, Any], dict[str, float | None],
                                                      dict[str, float]]:
    """(arch_type, config, parameter columns, extra parameters) of one record."""
    raw = f.json_value("config")
    if raw is None:
        raise RecordError(f.label, "config", "missing")
    if not isinstance(raw, dict):
        raise RecordError(f.label, "config", f"must be an object, got {type(raw).__name__}")
    if isinstance(raw.get("net"), dict) and (arch_type is None or arch_type.startswith("nds_")):
        return _nds_again(f, raw, arch_type)
    arch_type = arch_type or "anynet"
    if arch_type != "anynet":  # another imported family: its columns travel with the record (CSV has them)
        columns = empty_columns()
        for name in PARAM_NAMES:
            columns[name] = f.number(name)
        return arch_type, raw, columns, _extra(f)
    try:
        cfg = AnyNetConfig.model_validate(raw)
    except ValidationError as e:
        raise validation_error(e, f.label, "config.") from None
    return arch_type, cfg.model_dump(mode="json", exclude_none=True), flat_params(cfg), _extra(f)


def _nds_again(f: _Fields, raw: dict[str, Any], arch_type: str | None) -> tuple[str, dict[str, Any],
                                                                                dict[str, float | None],
                                                                                dict[str, float]]:
    """An NDS run imported before and exported again: flattened again from its raw net and optim exactly as
    the first import did, so no export format needs to carry arch_type, extra or the flat columns."""
    anynet: dict[str, Any] = raw["anynet"] if isinstance(raw.get("anynet"), dict) else {}
    space = raw.get("space") or (arch_type or "nds_").removeprefix("nds_")
    flat = flatten_net(raw["net"], f.label, anynet.get("stem_type") == "res_stem_in", str(space))
    return flat.arch_type, raw, flat.columns, flat.extra | optim_params(raw, f.label) | _extra(f)


def _extra(f: _Fields) -> dict[str, float]:
    """The record's `extra` object (JSON formats), or, in our CSV, the study's extra columns the export wrote
    between the flat parameters and the config (every column not in csv_columns(), where it has a value)."""
    if f.cells:
        return {str(k): n for k in f.rec if k not in _CSV_KNOWN and (n := f.number(str(k))) is not None}
    raw = f.json_value("extra")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RecordError(f.label, "extra", f"must be an object of numbers, got {type(raw).__name__}")
    return {str(k): as_number(v, f.label, f"extra.{k}") for k, v in raw.items()}


_CSV_KNOWN = frozenset(csv_columns())


def _count(x: float | int | None, label: str, key: str) -> int | None:
    if x is None:
        return None
    return x if type(x) is int and x >= 0 else as_count(x, label, key)


def _required_count(x: float | int | None, label: str, key: str) -> int:
    if x is None:
        raise RecordError(label, key, "missing")
    return x if type(x) is int and x >= 0 else as_count(x, label, key)


def convert_record(rec: Any, label: str, index: int, *, cells: bool = False) -> ModelRecord:
    f = _Fields(rec, label, cells)
    error, error_final, flops, params, acts, train_seconds, infer_ms, epochs = f.numbers(NUMBERS)
    if error is None:
        raise RecordError(label, "error", "missing (the model has no result to import)")
    check_error(error, label, "error")
    arch_type = f.raw("arch_type")
    if arch_type is not None and (not isinstance(arch_type, str) or len(arch_type) > 32):
        raise RecordError(label, "arch_type", f"must be a short string, got {arch_type!r:.40}")
    arch_type, config, columns, extra = _config(f, arch_type)
    diverged = f.flag("diverged")
    name = f.raw("name")
    curves = {k: curve(f.json_value(k), label, k) for k in ("train_loss", "train_error", "test_error")}
    return ModelRecord(
        index=index, name=None if name is None else str(name)[:200], arch_type=arch_type, config=config,
        config_hash=canonical_hash(config) if arch_type == "anynet" else raw_config_hash(config),
        flops=_required_count(flops, label, "flops"), params=_required_count(params, label, "params"),
        acts=_count(acts, label, "acts"), columns=columns, extra=extra,
        result=ResultRecord(
            error=error, diverged=bool(diverged), error_final=error_final, train_seconds=train_seconds,
            infer_ms=infer_ms, epochs_done=None if epochs is None else int(epochs),
            did_not_learn=f.flag("did_not_learn"), **curves),
    )


def plan_records(fmt: str, items: list[tuple[str, Any]], convert: Callable[[Any, str, int], ModelRecord]) -> Plan:
    """A plan of our records (`items`: (label, raw record)), finished as every format of ours is."""
    def finish(records: list[ModelRecord], skipped: list[BadRecord]) -> Population:
        zero_fill_ops([r.extra for r in records if r.arch_type.startswith("nds_")])
        return Population(fmt, records, skipped)

    return Plan(fmt, items, convert, finish)


def _convert_line(raw: tuple[int, str], label: str, index: int) -> ModelRecord:
    return convert_record(jsonl_object(label, raw), label, index)


def plan_jsonl(text: str, filename: str | None = None) -> Plan:
    return plan_records("jsonl", jsonl_lines(text), _convert_line)


def plan_csv(text: str, filename: str | None = None) -> Plan:
    return plan_records("csv", list(csv_items(text)), functools.partial(convert_record, cells=True))


def plan_json(text: str, filename: str | None = None, *, split: bool = False) -> Plan:
    """A JSON list of our records, or an object holding it under "models" (the API's JSON export). `split`: a
    list is parsed record by record where the records convert (source.split_list)."""
    spans = split_list(text) if split else None
    if spans is not None:
        return plan_records("json", spans, parsing_spans(text, convert_record))
    data = load_json(text)
    if isinstance(data, dict) and isinstance(data.get("models"), list):
        data = data["models"]
    if not isinstance(data, list):
        raise ImportFormatError("file", f"expected a JSON list of model records, got {type(data).__name__}")
    return plan_records("json", [(str(i), r) for i, r in enumerate(data)], convert_record)

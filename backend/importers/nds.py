"""NDS population files (Radosavovic et al., ICCV 2019 data release).

A file is a JSON list of training runs, or `{"top": [...], "mid": [...]}` for the reruns files (one
config trained with many seeds). Names ending in `_in` are ImageNet (224 px, 1000 classes), the others
CIFAR-10 (32 px, 10 classes). Every run is a member of the population — diverged ones included, flagged —
with `min_test_top1` as its headline error and the per-epoch curves kept. flops/params are the file's own
raw counts (see nds_nets for how they relate to our analytic ones); netspace's own flops (plain multiply-adds)
sit beside them as `extra.macs` wherever the net can be counted (plain_macs). The raw `net` and `optim` are kept
as they were under `config` (a NaN in them is stored as null: JSON has no NaN); `optim`'s lr, wd,
epochs and momentum, the run's seed and its timings (iter_time, prec_time's train_fw_bw and test_fw) become
browsable columns (models.extra).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from backend.designspace.complexity import complexity
from backend.designspace.config import AnyNetConfig

from .nds_nets import flatten_net, native_space, nds_cell_complexity, zero_fill_ops
from .records import (
    BadRecord,
    ImportFormatError,
    ModelRecord,
    Plan,
    Population,
    RecordError,
    ResultRecord,
    as_count,
    as_dict,
    as_number,
    check_error,
    curve,
    final_value,
    flag_learning,
    get,
    headline,
    raw_config_hash,
)
from .source import load_json, parsing_spans, split_list

#: optim key -> browsable parameter name
OPTIM_PARAMS = {"base_lr": "lr", "wd": "wd", "max_ep": "epochs", "mom": "momentum"}
_NUMBERS = frozenset((int, float))
CURVES = {"train_loss": "train_ep_loss", "train_error": "train_ep_top1", "test_error": "test_ep_top1"}


def describe_file(filename: str | None) -> tuple[str, bool]:
    """(space name, is ImageNet) from a file name such as 'ResNeXt-A_in.json' or 'Vanilla_reruns.json'."""
    stem = PurePath(filename or "").name
    for suffix in (".json", ".gz"):
        stem = stem.removesuffix(suffix)
    return (stem.split("_")[0] or "NDS"), stem.lower().endswith("_in")


def _items(data: Any) -> tuple[list[tuple[str, Any]], dict[str, int] | None]:
    if isinstance(data, list):
        return [(str(i), r) for i, r in enumerate(data)], None
    if isinstance(data, dict):
        items, groups = [], {}
        for g, runs in data.items():
            if not isinstance(runs, list):
                raise ImportFormatError("file", f"an NDS object maps group names to lists of runs; "
                                        f"{g!r} holds {type(runs).__name__}")
            items += [(f"{g}[{i}]", r) for i, r in enumerate(runs)]
            groups[str(g)] = len(runs)
        return items, groups
    raise ImportFormatError("file", f"NDS data is a list of runs or an object of lists, got {type(data).__name__}")


def optim_params(rec: dict[str, Any], label: str) -> dict[str, float]:
    """lr, wd, epochs and momentum from a run's (or a stored config's) `optim`."""
    if rec.get("optim") is None:
        return {}
    optim = as_dict(rec["optim"], label, "optim")
    values: list[Any] = [optim.get(key) for key in OPTIM_PARAMS]
    if set(map(type, values)) <= _NUMBERS and math.isfinite(sum(values)):  # the common case: plain numbers
        return {name: float(v) for name, v in zip(OPTIM_PARAMS.values(), values, strict=True)}
    return {name: as_number(v, label, f"optim.{key}")
            for (key, name), v in zip(OPTIM_PARAMS.items(), values, strict=True) if v is not None}


#: run fields kept as browsable numbers where the file has a finite one: (path, name)
RUN_NUMBERS = ((("rng_seed",), "seed"), (("iter_time",), "iter_time"), (("prec_time", "train_fw_bw"), "train_fw_bw"),
               (("prec_time", "test_fw"), "test_fw"))


def run_numbers(rec: dict[str, Any]) -> dict[str, float]:
    """The run's seed and timings (s per iteration; precise forward/backward times) as browsable numbers."""
    out = {}
    for path, name in RUN_NUMBERS:
        v: Any = rec
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        if type(v) in _NUMBERS and math.isfinite(v):
            out[name] = float(v)
    return out


def plain_macs(net: dict[str, Any], anynet: AnyNetConfig | None, imagenet: bool) -> int | None:
    """A net's plain multiply-adds (netspace's flops, what a native regime means) at the release's resolution
    and classes: ResNet-style nets through their AnyNet form (`anynet`, already built by flatten_net; one
    scalar pass of designspace.complexity, ~1/10 of the rest of a record's conversion), ImageNet NAS cell nets
    where netspace knows their operations. None otherwise (the record still imports): a ResNet-style net
    without an AnyNet form, a CIFAR cell net (another stem, not counted here)."""
    if anynet is not None:
        im_size, num_classes = (224, 1000) if imagenet else (32, 10)
        return complexity(anynet, im_size, num_classes)["flops"]
    if "genotype" in net and imagenet:
        try:
            return nds_cell_complexity(net, imagenet)["macs"]
        except RecordError:
            return None
    return None


def convert_run(rec: Any, label: str, index: int, *, space: str, imagenet: bool) -> ModelRecord:
    rec = as_dict(rec, label, "run")
    net = as_dict(get(rec, "net", label), label, "net")
    flat = flatten_net(net, label, imagenet, space)
    num_classes = 1000 if imagenet else 10
    error, diverged = headline(check_error(as_number(get(rec, "min_test_top1", label), label, "min_test_top1",
                                                     allow_nan=True), label, "min_test_top1"), num_classes)
    curves = {ours: curve(rec.get(theirs), label, theirs) for ours, theirs in CURVES.items()}
    group = label.split("[")[0] if "[" in label else None
    job = rec.get("job_id")
    config: dict[str, Any] = {"net": net, "space": space}  # the space names the family on a re-import
    for key in ("optim", "job_id", "rng_seed"):
        if key in rec:
            config[key] = rec[key]
    chash = raw_config_hash(config)  # job_id and rng_seed tell reruns of one net apart
    if flat.anynet is not None:
        config["anynet"] = flat.anynet.model_dump(mode="json", exclude_none=True)
    macs = plain_macs(net, flat.anynet, imagenet)
    if macs is not None:  # netspace's own flops beside the release's: what a native regime means
        flat.extra["macs"] = float(macs)
    return ModelRecord(
        index=index,
        name=f"{group}/{job}" if group else (None if job is None else str(job)),
        arch_type=flat.arch_type,
        config=config,
        config_hash=chash,
        flops=as_count(get(rec, "flops", label), label, "flops"),
        params=as_count(get(rec, "params", label), label, "params"),
        acts=None,  # NDS records no activation count
        columns=flat.columns,
        extra=flat.extra | optim_params(rec, label) | run_numbers(rec),
        result=flag_learning(ResultRecord(
            error=error, diverged=diverged, error_final=final_value(curves["test_error"]),
            epochs_done=None if curves["test_error"] is None else len(curves["test_error"]),
            train_loss=curves["train_loss"], train_error=curves["train_error"], test_error=curves["test_error"]),
            num_classes),
    )


def plan(text: str, filename: str | None = None, *, split: bool = False) -> Plan:
    """`split`: a list of runs is parsed run by run where the runs convert (source.split_list)."""
    space, imagenet = describe_file(filename)
    convert: Callable[[Any, str, int], ModelRecord] = functools.partial(convert_run, space=space,
                                                                         imagenet=imagenet)
    spans = split_list(text) if split else None
    if spans is None:
        items, groups = _items(load_json(text))
    else:
        items, groups, convert = spans, None, parsing_spans(text, convert)

    def finish(records: list[ModelRecord], skipped: list[BadRecord]) -> Population:
        zero_fill_ops([r.extra for r in records])
        first_optim = records[0].config.get("optim") if records else None
        meta: dict[str, Any] = {"space": space, "source": PurePath(filename).name if filename else None,
                                "anynet_mapped": sum("anynet" in r.config for r in records),
                                "native_space": native_space(space, imagenet)}
        if groups:
            meta["groups"] = groups
        if first_optim is not None and all(r.config.get("optim") == first_optim for r in records):
            meta["optim"] = first_optim
        return Population("nds", records, skipped, dataset="imagenet" if imagenet else "cifar10",
                          im_size=224 if imagenet else 32, num_classes=1000 if imagenet else 10, meta=meta)

    return Plan("nds", items, convert, finish, finish_reads=("optim", "anynet"))


__all__ = ["plan", "describe_file", "convert_run", "RecordError"]

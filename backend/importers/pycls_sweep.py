"""pycls sweep results: the `sweep.json` that tools/sweep_collect.py writes.

The file is a JSON list with one dict per job (PYCLS_FACTS.md §d): `cfg` (the full pycls config),
`complexity` ({flops, params, acts}), and per log type a dict of metric -> list over epochs, e.g.
`test_epoch.top1_err`, `test_epoch.min_top1_err`, `test_ema_epoch...`, `train_epoch.loss`; plus
`log_file`, `err_file`, `err`. The headline error follows pycls's own analysis: the minimum EMA top-1
error when the job logged `test_ema_epoch`, else the minimum test top-1 error.

Models are AnyNets (a RegNet sweep's cfgs are converted to anynet by sweep_setup and keep REGNET.* beside
the lists), so they import as canonical AnyNetConfigs — arch_type 'anynet', the same columns and hashes as
sampled models — with OPTIM's lr, wd, epochs and momentum as browsable parameters.
"""

from __future__ import annotations

import math
from typing import Any, get_args

from pydantic import ValidationError

from backend.designspace.complexity import complexity
from backend.designspace.config import AnyNetConfig, RegNetParams, RegNetSpec, Standardization
from backend.designspace.params import flat_params
from backend.designspace.regnet import regnet_to_anynet

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
    canonical_hash,
    check_error,
    curve,
    final_value,
    flag_learning,
    get,
    headline,
    validation_error,
)
from .source import load_json

#: cfg path -> browsable parameter name
CFG_PARAMS = {("OPTIM", "BASE_LR"): "lr", ("OPTIM", "WEIGHT_DECAY"): "wd", ("OPTIM", "MAX_EPOCH"): "epochs",
              ("OPTIM", "MOMENTUM"): "momentum", ("TRAIN", "BATCH_SIZE"): "batch_size",
              ("TRAIN", "IM_SIZE"): "im_size"}


def _section(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    v = cfg.get(name)
    return v if isinstance(v, dict) else {}


def _regnet_matches(cfg: dict[str, Any], any_cfg: AnyNetConfig) -> RegNetParams | None:
    """REGNET.* of a cfg when it really generated the ANYNET lists (pycls keeps the section either way,
    with defaults when the sweep never sampled it), else None. A sweep's lists went through scale_model
    (standardize "pycls_sweep"); a hand-written cfg's through the model construction ("netspace")."""
    r = _section(cfg, "REGNET")
    try:
        params = RegNetParams(depth=r["DEPTH"], w0=r["W0"], wa=r["WA"], wm=r["WM"], group_w=r["GROUP_W"],
                              bot_mul=r.get("BOT_MUL", 1.0))
        gens = [regnet_to_anynet(params, standardize=mode) for mode in get_args(Standardization)]
    except (KeyError, TypeError, ValueError):
        return None
    keys = ("depths", "widths", "bot_muls", "group_ws")
    same = any(all(getattr(gen, k) == getattr(any_cfg, k) for k in keys) for gen in gens)
    return params if same else None


def anynet_of(cfg: dict[str, Any], label: str) -> AnyNetConfig:
    mtype = str(_section(cfg, "MODEL").get("TYPE", "")).lower()
    try:
        if mtype == "regnet":
            r = _section(cfg, "REGNET")
            return regnet_to_anynet(RegNetSpec(
                depth=r.get("DEPTH"), w0=r.get("W0"), wa=r.get("WA"), wm=r.get("WM"), group_w=r.get("GROUP_W"),
                bot_mul=r.get("BOT_MUL", 1.0), se_r=r.get("SE_R", 0.25) if r.get("SE_ON") else 0.0,
                stem_type=r.get("STEM_TYPE", "simple_stem_in"), stem_w=r.get("STEM_W", 32),
                block_type=r.get("BLOCK_TYPE", "res_bottleneck_block"), stride=r.get("STRIDE", 2),
                head_w=r.get("HEAD_W", 0)))
        if mtype != "anynet":
            raise RecordError(label, "cfg.MODEL.TYPE", f"must be 'anynet' or 'regnet', got {mtype or None!r}")
        a = _section(cfg, "ANYNET")
        ds, ws = a.get("DEPTHS"), a.get("WIDTHS")
        n = len(ds) if isinstance(ds, list) else 0
        any_cfg = AnyNetConfig(
            stem_type=a.get("STEM_TYPE", "simple_stem_in"), stem_w=a.get("STEM_W", 32),
            block_type=a.get("BLOCK_TYPE", "res_bottleneck_block"), depths=ds, widths=ws,
            strides=a.get("STRIDES"), bot_muls=a.get("BOT_MULS") or [1.0] * n,
            group_ws=a.get("GROUP_WS") or (ws if isinstance(ws, list) else None),
            se_r=a.get("SE_R", 0.25) if a.get("SE_ON") else 0.0, head_w=a.get("HEAD_W", 0))
    except ValidationError as e:  # our field names are pycls's keys in lower case: name the cfg key
        err = validation_error(e, label, "")
        section = "cfg.REGNET." if mtype == "regnet" else "cfg.ANYNET."
        raise RecordError(label, section + (err.key or "").upper(), err.detail) from None
    regnet = _regnet_matches(cfg, any_cfg)
    return any_cfg.model_copy(update={"regnet": regnet}) if regnet else any_cfg


def _epochs(job: dict[str, Any], key: str, label: str) -> dict[str, Any] | None:
    v = job.get(key)
    if v is None:
        return None
    v = as_dict(v, label, key)
    return v if v.get("top1_err") or v.get("min_top1_err") else None


def _min_error(stats: dict[str, Any], key: str, label: str) -> float:
    metric = "min_top1_err" if stats.get("min_top1_err") else "top1_err"
    values = stats[metric]
    if not isinstance(values, list):
        raise RecordError(label, f"{key}.{metric}", f"must be a list over epochs, got {type(values).__name__}")
    xs = [check_error(as_number(x, label, f"{key}.{metric}[{i}]", allow_nan=True), label, f"{key}.{metric}[{i}]")
          for i, x in enumerate(values)]
    finite = [x for x in xs if not math.isnan(x)]
    return min(finite) if finite else math.nan


def _cfg_params(cfg: dict[str, Any], label: str) -> dict[str, float]:
    out = {}
    for (sec, key), name in CFG_PARAMS.items():
        v = _section(cfg, sec).get(key)
        if v is not None:
            out[name] = as_number(v, label, f"cfg.{sec}.{key}")
    return out


def _name(job: dict[str, Any], cfg: dict[str, Any]) -> str | None:
    log = job.get("log_file")
    if isinstance(log, str) and "/" in log:  # .../logs/000012/stdout.log -> 000012
        return log.rstrip("/").split("/")[-2] or None
    desc = cfg.get("DESC")
    return desc[:200] if isinstance(desc, str) and desc else None


def convert_job(job: Any, label: str, index: int) -> ModelRecord:
    job = as_dict(job, label, "job")
    cfg = as_dict(get(job, "cfg", label), label, "cfg")
    any_cfg = anynet_of(cfg, label)
    num_classes = int(as_number(_section(cfg, "MODEL").get("NUM_CLASSES", 1000), label, "cfg.MODEL.NUM_CLASSES"))
    im_size = int(as_number(_section(cfg, "TRAIN").get("IM_SIZE", 224), label, "cfg.TRAIN.IM_SIZE"))
    if job.get("complexity") is not None:
        cx_raw = as_dict(job["complexity"], label, "complexity")
        flops, params = (as_count(get(cx_raw, k, label, "complexity."), label, f"complexity.{k}")
                         for k in ("flops", "params"))
        acts = None if cx_raw.get("acts") is None else as_count(cx_raw["acts"], label, "complexity.acts")
    else:  # an older collect without the complexity record: our counts follow pycls's exactly
        cx = complexity(any_cfg, im_size=im_size, num_classes=num_classes)
        flops, params, acts = cx["flops"], cx["params"], cx["acts"]
    key = "test_ema_epoch" if _epochs(job, "test_ema_epoch", label) else "test_epoch"
    stats = _epochs(job, key, label)
    if stats is None:
        raise RecordError(label, "test_epoch", "missing: the job logged no test epoch, so it has no error")
    error, diverged = headline(_min_error(stats, key, label), num_classes)
    test_error = curve(stats.get("top1_err"), label, f"{key}.top1_err")
    train = _epochs(job, "train_epoch", label) or {}
    times = curve(train.get("time_epoch"), label, "train_epoch.time_epoch")
    ep_ind = stats.get("epoch_ind")
    config = any_cfg.model_dump(mode="json", exclude_none=True)
    return ModelRecord(
        index=index, name=_name(job, cfg), arch_type="anynet", config=config, config_hash=canonical_hash(config),
        flops=flops, params=params, acts=acts, columns=flat_params(any_cfg),
        extra=_cfg_params(cfg, label),
        result=flag_learning(ResultRecord(
            error=error, diverged=diverged, error_final=final_value(test_error), test_error=test_error,
            train_loss=curve(train.get("loss"), label, "train_epoch.loss"),
            train_error=curve(train.get("top1_err"), label, "train_epoch.top1_err"),
            train_seconds=sum(t for t in times if t is not None) if times else None,
            epochs_done=int(ep_ind[-1]) if isinstance(ep_ind, list) and ep_ind and isinstance(ep_ind[-1], int)
            else (len(test_error) if test_error is not None else None)), num_classes),
    )


def _uniform(values: list[Any]) -> Any:
    return values[0] if values and all(v == values[0] for v in values) else None


def plan(text: str, filename: str | None = None) -> Plan:
    data = load_json(text)
    if not isinstance(data, list):
        raise ImportFormatError("file", f"a pycls sweep.json is a list of jobs, got {type(data).__name__}")

    def finish(records: list[ModelRecord], skipped: list[BadRecord]) -> Population:
        cfgs = [j["cfg"] for j in data if isinstance(j, dict) and isinstance(j.get("cfg"), dict)]
        dataset = _uniform([str(_section(c, "TRAIN").get("DATASET", "")).lower() or None for c in cfgs])
        im_size = _uniform([r.extra.get("im_size") for r in records])
        return Population("pycls-sweep", records, skipped, dataset=dataset,
                          im_size=int(im_size) if im_size else None,
                          num_classes=_uniform([_section(c, "MODEL").get("NUM_CLASSES") for c in cfgs]),
                          meta={"source": filename})

    return Plan("pycls-sweep", [(str(i), j) for i, j in enumerate(data)], convert_job, finish)

"""pycls sweep.json importer on a small realistic sweep written here from the documented format.

The fixture follows what tools/sweep_collect.py writes (PYCLS_FACTS.md §d, "Per-job logs" / "Collect"):
a list with one dict per job; `cfg` and `complexity` as single values; each epoch log type as
metric -> list over epochs sorted by epoch, with `epoch` "i/N" parsed into `epoch_ind`/`epoch_max`;
metric floats rounded to 4 decimals; `log_file`, `err_file` and `err`; dumped with sort_keys (and bare
NaN for a blown-up run, as Python's json writes it). The two real models are zoo RegNets whose exact
complexity comes from shared/reference/regnet_zoo.csv.
"""

from __future__ import annotations

import csv
import json
import math

import pytest

from backend.designspace.config import AnyNetConfig, RegNetSpec
from backend.designspace.params import flat_params
from backend.designspace.regnet import regnet_to_anynet
from backend.importers import RecordError, parse_file

PYCLS_DEFAULT_REGNET = {"DEPTH": 10, "W0": 32, "WA": 5.0, "WM": 2.5, "GROUP_W": 16, "BOT_MUL": 1.0,
                        "SE_ON": False, "SE_R": 0.25, "STEM_TYPE": "simple_stem_in", "STEM_W": 32,
                        "BLOCK_TYPE": "res_bottleneck_block", "STRIDE": 2, "HEAD_W": 0}


def zoo_row(reference_dir, name: str) -> dict:
    with open(reference_dir / "regnet_zoo.csv") as f:
        return next(r for r in csv.DictReader(f) if r["name"] == name)


def pycls_cfg(row: dict, *, lr: float, wd: float, epochs: int, regnet_kept: bool = True) -> dict:
    """A pycls cfg as sweep_setup leaves it for a RegNet sample: MODEL.TYPE anynet, REGNET.* kept."""
    spec = RegNetSpec(depth=int(row["depth"]), w0=int(row["w0"]), wa=float(row["wa"]), wm=float(row["wm"]),
                      group_w=int(row["group_w"]))
    a = regnet_to_anynet(spec)
    regnet = PYCLS_DEFAULT_REGNET | ({"DEPTH": spec.depth, "W0": spec.w0, "WA": spec.wa, "WM": spec.wm,
                                      "GROUP_W": spec.group_w} if regnet_kept else {})
    return {
        "DESC": f"REGNET.DEPTH {spec.depth} REGNET.W0 {spec.w0} OPTIM.BASE_LR {lr}",
        "MODEL": {"TYPE": "anynet", "NUM_CLASSES": 1000, "LOSS_FUN": "cross_entropy", "ACTIVATION_FUN": "relu"},
        "ANYNET": {"STEM_TYPE": "simple_stem_in", "STEM_W": 32, "BLOCK_TYPE": "res_bottleneck_block",
                   "DEPTHS": a.depths, "WIDTHS": a.widths, "STRIDES": a.strides, "BOT_MULS": a.bot_muls,
                   "GROUP_WS": a.group_ws, "HEAD_W": 0, "SE_ON": False, "SE_R": 0.25},
        "REGNET": regnet,
        "OPTIM": {"BASE_LR": lr, "MAX_EPOCH": epochs, "MOMENTUM": 0.9, "NESTEROV": True, "WEIGHT_DECAY": wd,
                  "LR_POLICY": "cos", "EMA_ALPHA": 1e-5, "EMA_UPDATE_PERIOD": 32, "WARMUP_EPOCHS": 0},
        "TRAIN": {"DATASET": "imagenet", "IM_SIZE": 224, "BATCH_SIZE": 1024, "SPLIT": "train"},
        "TEST": {"DATASET": "imagenet", "IM_SIZE": 256, "BATCH_SIZE": 800},
        "OUT_DIR": "/tmp/sweep/logs/000000", "RNG_SEED": 1,
    }


def epoch_log(errors: list[float], total: int, extra: dict | None = None) -> dict:
    """metric -> list over epochs, as sort_log_data leaves a *_epoch type (running min included)."""
    n = len(errors)
    run_min, best = [], math.inf
    for e in errors:
        best = e if math.isnan(best) or e < best else best
        run_min.append(best)
    out = {"epoch": [f"{i + 1}/{total}" for i in range(n)], "epoch_ind": list(range(1, n + 1)),
           "epoch_max": [total] * n, "top1_err": [round(e, 4) for e in errors],
           "top5_err": [round(e / 3, 4) for e in errors], "min_top1_err": [round(e, 4) for e in run_min],
           "min_top5_err": [round(e / 3, 4) for e in run_min], "mem": [5123] * n,
           "time_epoch": [41.25] * n, "time_avg": [0.0423] * n}
    return out | (extra or {})


def job(i: int, cfg: dict, cx: dict | None, test: list[float], ema: list[float] | None, total: int) -> dict:
    n = len(test)
    d = {"cfg": cfg, "log_file": f"/tmp/sweep/logs/{i:06d}/stdout.log",
         "err_file": f"/tmp/sweep/logs/{i:06d}/stderr.log", "err": "",
         "train_epoch": epoch_log([min(100.0, e + 4.0) for e in test], total,
                                  {"loss": [round(6.9 - 0.4 * k, 4) for k in range(n)],
                                   "lr": [0.4] * n, "time_epoch": [612.5 + k for k in range(n)]}),
         "test_epoch": epoch_log(test, total),
         "epoch_times": {"test_fw_time": 0.0113, "train_fw_time": 0.0331, "train_bw_time": 0.0641,
                         "train_fw_bw_time": 0.0972}}
    if cx is not None:
        d["complexity"] = dict(cx)
    if ema is not None:
        d["test_ema_epoch"] = epoch_log(ema, total)
    return d


@pytest.fixture
def sweep(reference_dir, tmp_path):
    x200, x400 = zoo_row(reference_dir, "RegNetX-200MF"), zoo_row(reference_dir, "RegNetX-400MF")
    cx = {r["name"]: {"flops": int(r["flops_exact"]), "params": int(r["params_exact"]),
                      "acts": int(r["acts_exact"])} for r in (x200, x400)}
    jobs = [
        job(0, pycls_cfg(x200, lr=0.8, wd=5e-5, epochs=5), cx["RegNetX-200MF"],
            [70.1, 55.3, 47.25, 44.0, 43.9], [72.0, 54.0, 46.0, 43.12, 43.5], 5),
        job(1, pycls_cfg(x400, lr=0.4, wd=1e-4, epochs=5), cx["RegNetX-400MF"],
            [66.0, 50.5, 41.5, 39.75, 39.8], None, 5),  # no EMA logged: min test error
        job(2, pycls_cfg(x200, lr=0.2, wd=5e-5, epochs=5, regnet_kept=False), cx["RegNetX-200MF"],
            [71.0, 56.0, 48.0, 45.5, 45.0], [71.5, 55.0, 47.0, 44.5, 44.25], 5),
        job(3, pycls_cfg(x400, lr=3.2, wd=5e-4, epochs=5), cx["RegNetX-400MF"],
            [99.9, math.nan, math.nan, math.nan, math.nan], [99.9, math.nan, math.nan, math.nan, math.nan], 5),
        job(4, pycls_cfg(x400, lr=0.8, wd=5e-5, epochs=5), None, [68.0, 52.0, 43.0], [69.0, 51.5, 42.5], 5),
    ]
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(jobs, sort_keys=True))
    return path, jobs


def test_sweep_jobs_import_with_pycls_headline_error(sweep, reference_dir):
    path, jobs = sweep
    pop = parse_file(path.read_bytes(), path.name)
    assert pop.format == "pycls-sweep" and len(pop.records) == 5 and not pop.skipped
    assert (pop.dataset, pop.im_size, pop.num_classes) == ("imagenet", 224, 1000)
    errors = [r.result.error for r in pop.records]
    # min EMA error where EMA was logged, else min test error; a NaN-only run is 100 and diverged
    assert errors == [43.12, 39.75, 44.25, 99.9, 42.5]
    assert [r.result.diverged for r in pop.records] == [False, False, False, True, False]
    assert pop.records[0].result.test_error == jobs[0]["test_ema_epoch"]["top1_err"]
    assert pop.records[1].result.test_error == jobs[1]["test_epoch"]["top1_err"]
    assert pop.records[3].result.test_error == [99.9, None, None, None, None]
    assert pop.records[0].result.train_loss == jobs[0]["train_epoch"]["loss"]
    assert pop.records[0].result.train_seconds == sum(jobs[0]["train_epoch"]["time_epoch"])
    assert [r.result.epochs_done for r in pop.records] == [5, 5, 5, 5, 3]
    assert [r.name for r in pop.records] == [f"{i:06d}" for i in range(5)]


def test_sweep_models_are_canonical_anynets_with_browsable_optim(sweep, reference_dir):
    path, jobs = sweep
    pop = parse_file(path.read_text(), "sweep.json", "pycls-sweep")
    x200 = zoo_row(reference_dir, "RegNetX-200MF")
    first = pop.records[0]
    assert first.arch_type == "anynet"
    assert first.config["depths"] == [int(d) for d in x200["stage_depths"].split(";")]
    assert first.config["widths"] == [int(w) for w in x200["stage_widths"].split(";")]
    assert first.config["regnet"]["wa"] == float(x200["wa"])  # REGNET.* generated these lists: kept
    assert "regnet" not in pop.records[2].config  # REGNET.* left at pycls defaults: not this net's law
    assert (first.flops, first.params, first.acts) == (
        int(x200["flops_exact"]), int(x200["params_exact"]), int(x200["acts_exact"]))
    # job 4 has no complexity record: computed with pycls's accounting, equal to the zoo's exact counts
    x400 = zoo_row(reference_dir, "RegNetX-400MF")
    assert (pop.records[4].flops, pop.records[4].params, pop.records[4].acts) == (
        int(x400["flops_exact"]), int(x400["params_exact"]), int(x400["acts_exact"]))
    for rec in pop.records:
        cfg = AnyNetConfig.model_validate(rec.config)
        assert rec.columns == flat_params(cfg)
        if rec.index < 3:  # first occurrence of each net: the same hash a sampled model gets
            assert rec.config_hash == cfg.config_hash()
    assert pop.records[0].columns["w0"] == 24.0 and pop.records[2].columns["w0"] is None
    o = jobs[1]["cfg"]["OPTIM"]
    assert {k: pop.records[1].extra[k] for k in ("lr", "wd", "epochs", "momentum", "batch_size")} == {
        "lr": o["BASE_LR"], "wd": o["WEIGHT_DECAY"], "epochs": o["MAX_EPOCH"], "momentum": o["MOMENTUM"],
        "batch_size": 1024}
    # jobs 1, 3 and 4 are the same net (an lr sweep): all members, distinct hashes
    assert len({r.config_hash for r in pop.records}) == 5


@pytest.mark.parametrize("mutate, message", [
    (lambda j: j.pop("test_epoch") and j.pop("test_ema_epoch"), "record 2: test_epoch: missing"),
    (lambda j: j.pop("cfg"), "record 2: cfg: missing"),
    (lambda j: j["cfg"]["MODEL"].update(TYPE="effnet"), "record 2: cfg.MODEL.TYPE: must be 'anynet' or 'regnet'"),
    (lambda j: j["cfg"]["ANYNET"].update(WIDTHS=[24, 56]), "record 2: cfg.ANYNET.WIDTHS: must have one entry"),
    (lambda j: j["complexity"].update(flops="200M"), "record 2: complexity.flops: must be a number, got str"),
    (lambda j: j["test_ema_epoch"]["min_top1_err"].__setitem__(1, None),
     "record 2: test_ema_epoch.min_top1_err[1]: must be a number, got null"),
    (lambda j: j["cfg"]["OPTIM"].update(BASE_LR=[0.1]), "record 2: cfg.OPTIM.BASE_LR: must be a number"),
])
def test_bad_jobs_name_record_and_field(sweep, mutate, message):
    path, jobs = sweep
    mutate(jobs[2])
    text = json.dumps(jobs)
    with pytest.raises(RecordError) as exc:
        parse_file(text, "sweep.json")
    assert str(exc.value).startswith(message), str(exc.value)
    pop = parse_file(text, "sweep.json", skip_bad=True)
    assert len(pop.records) == 4 and len(pop.skipped) == 1 and str(pop.skipped[0]) == str(exc.value)


def test_unconverted_regnet_cfg_expands_through_the_law(sweep, reference_dir):
    path, jobs = sweep
    cfg = jobs[0]["cfg"]
    cfg["MODEL"]["TYPE"] = "regnet"
    del cfg["ANYNET"]
    rec = parse_file(json.dumps(jobs[:1]), "sweep.json").records[0]
    x200 = zoo_row(reference_dir, "RegNetX-200MF")
    assert rec.config["widths"] == [int(w) for w in x200["stage_widths"].split(";")]
    assert rec.columns["wa"] == float(x200["wa"])

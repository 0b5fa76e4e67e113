"""Our own JSONL/CSV/JSON exports read back: same errors (so the same EDF), configs and parameters.

Rows are written by the real writers of backend.designspace.exports (what the API and CLI exports use),
from really sampled models with awkward float errors; the database-level round trip through the real
export endpoint is in tests/test_import_db.py.
"""

from __future__ import annotations

import copy
import functools
import json
import math

import numpy as np
import pytest

from backend.designspace.builtin import get_space
from backend.designspace.config import AnyNetConfig
from backend.designspace.exports import csv_lines, jsonl_lines
from backend.designspace.params import flat_params
from backend.designspace.sampling import Regime, sample
from backend.exporters import EXPORT_FORMATS
from backend.importers import ImportFormatError, RecordError, detect, parse_file


@functools.lru_cache
def sampled(space: str, k: int, seed: int) -> tuple[dict, ...]:
    return tuple(sample(get_space(space), k, seed, Regime()).records())


def export_rows(n: int = 60, seed: int = 3) -> list[dict]:
    """Rows shaped like the service's export: sampled configs, complexity and results."""
    rng = np.random.default_rng(seed)
    rows = []
    for space, k in (("RegNetX", n // 2), ("AnyNetX_A", n - n // 2)):
        for r in copy.deepcopy(sampled(space, k, seed)):
            err = float(rng.uniform(20, 80)) / 3.0 * math.pi  # many significant digits
            curve = [float(x) for x in np.sort(rng.uniform(err, 99, 5))[::-1]]
            rows.append({"id": len(rows) + 1, "index": len(rows), "name": None, "arch_type": "anynet",
                         "status": "done", "error": err, "error_final": curve[-1], "diverged": err > 70,
                         "flops": r["flops"], "params": r["params"], "acts": r["acts"],
                         "train_seconds": float(rng.uniform(1, 100)), "infer_ms": None, "epochs_done": 5,
                         "extra": None, "config": r["config"], "train_loss": [2.3, 1.1, 0.71, 0.5, 0.4],
                         "train_error": curve, "test_error": curve})
    return rows


def check_same_population(pop, rows):
    assert len(pop.records) == len(rows) and not pop.skipped
    assert sorted(r.result.error for r in pop.records) == sorted(r["error"] for r in rows)  # the same EDF
    for rec, row in zip(pop.records, rows, strict=True):
        cfg = AnyNetConfig.model_validate(row["config"])
        assert rec.config == row["config"] and rec.arch_type == "anynet"
        assert rec.config_hash == cfg.config_hash()  # what the sampled model had
        assert rec.columns == flat_params(cfg)
        assert (rec.flops, rec.params, rec.acts) == (row["flops"], row["params"], row["acts"])
        res = rec.result
        assert (res.error, res.error_final, res.diverged, res.train_seconds, res.infer_ms) == (
            row["error"], row["error_final"], row["diverged"], row["train_seconds"], row["infer_ms"])


def test_jsonl_round_trip_is_exact():
    rows = export_rows()
    text = "".join(jsonl_lines(rows))
    pop = parse_file(text.encode(), "study-all.jsonl")
    assert pop.format == "jsonl"
    check_same_population(pop, rows)
    assert pop.records[0].result.test_error == rows[0]["test_error"]


def test_csv_round_trip_is_exact():
    rows = export_rows()
    text = "".join(csv_lines(rows))
    pop = parse_file(text, "study-all.csv")
    assert pop.format == "csv"
    check_same_population(pop, rows)


def test_parquet_round_trip_is_exact_and_detected_by_its_magic():
    rows = export_rows()
    rows[0]["extra"] = {"lr": 0.1 / 3}
    data = b"".join(EXPORT_FORMATS.get("parquet").write(iter(copy.deepcopy(rows)), {"name": "s"}))
    assert data[:4] == data[-4:] == b"PAR1"
    assert detect(data, "upload") == detect(data, None) == "parquet"
    pop = parse_file(data, "study-all.parquet")
    assert pop.format == "parquet"
    check_same_population(pop, rows)
    assert [r.result.test_error for r in pop.records] == [r["test_error"] for r in rows]
    assert [r.result.train_loss for r in pop.records] == [r["train_loss"] for r in rows]
    assert pop.records[0].extra == {"lr": 0.1 / 3}
    empty = b"".join(EXPORT_FORMATS.get("parquet").write(iter([]), {"name": "s"}))
    assert parse_file(empty, "x.parquet").records == []  # a valid file of no rows (the import refuses it later)
    with pytest.raises(ImportFormatError, match=r"file: not a readable Parquet file"):
        parse_file(data[: len(data) // 2], "cut.parquet")
    with pytest.raises(ImportFormatError, match="cannot tell the format of blob.bin"):
        parse_file(b"\xff\xfe\x00binary", "blob.bin")


def test_json_array_round_trip_and_detection():
    rows = export_rows(10)
    text = json.dumps(rows)
    assert detect(text, "upload") == "json"
    assert detect("".join(jsonl_lines(rows)), "upload") == "jsonl"
    assert detect("".join(csv_lines(rows)), "upload") == "csv"
    check_same_population(parse_file(text, "x.json"), rows)
    with pytest.raises(ImportFormatError, match="cannot tell the format of notes.txt; name it"):
        parse_file("hello world", "notes.txt")


@pytest.mark.parametrize("fmt, make, message", [
    ("jsonl", lambda rows: rows[1].pop("error") and "", "record 1: error: missing"),
    ("jsonl", lambda rows: rows[1].update(error="31.5") or "", "record 1: error: must be a number, got str '31.5'"),
    ("jsonl", lambda rows: rows[1].update(flops=None) or "", "record 1: flops: missing"),
    ("jsonl", lambda rows: rows[1].update(diverged="yes") or "", "record 1: diverged: must be true or false"),
    ("jsonl", lambda rows: rows[1]["config"].update(widths=[8]) or "", "record 1: config.widths: must have one"),
    ("jsonl", lambda rows: rows[1]["config"].update(colour="red") or "", "record 1: config.colour: Extra inputs"),
    ("jsonl", lambda rows: rows[1].update(test_error=[1, "x"]) or "", "record 1: test_error[1]: must be a number"),
    ("jsonl", lambda rows: '{"error": 3,\n', "record 1: malformed JSON on line 2"),
    ("csv", lambda rows: rows[1].update(error=None) or "", "record 1: error: missing"),
    ("csv", lambda rows: rows[1].update(error="abc") or "", "record 1: error: must be a number, got 'abc'"),
    ("csv", lambda rows: rows[1].update(error=101.5) or "", "record 1: error: must be a percentage in [0, 100]"),
    ("csv", lambda rows: rows[1].update(params=1.5) or "", "record 1: params: must be a non-negative integer"),
])
def test_bad_rows_name_record_and_field_or_are_skipped(fmt, make, message):
    """`make` spoils record 1 in place, or returns a raw line to put in its place."""
    rows = export_rows(4)
    raw_line = make(rows)
    lines = list(jsonl_lines(rows) if fmt == "jsonl" else csv_lines(rows))
    if raw_line:
        lines[1] = raw_line
    text = "".join(lines)
    with pytest.raises(RecordError) as exc:
        parse_file(text, f"x.{fmt}")
    assert str(exc.value).startswith(message), str(exc.value)
    pop = parse_file(text, f"x.{fmt}", skip_bad=True)
    assert len(pop.records) == 3 and [str(s) for s in pop.skipped] == [str(exc.value)]
    assert pop.summary()["skipped"] == 1


def test_csv_with_broken_config_cell():
    rows = export_rows(3)
    text = "".join(csv_lines(rows))
    head, *body = text.splitlines(keepends=True)
    body[2] = body[2].replace('""depths""', '""depths', 1)
    with pytest.raises(RecordError, match=r"^record 2: config: malformed JSON"):
        parse_file(head + "".join(body), "x.csv")


def test_fast_canonical_hash_equals_the_sampled_models_hash():
    """canonical_hash (orjson where safe) must give exactly AnyNetConfig.config_hash() (stdlib JSON)."""
    from backend.designspace.builtin import builtin_spaces
    from backend.designspace.families import get_family
    from backend.importers.records import canonical_hash

    configs = [r["config"] for name, sp in builtin_spaces().items()
               if get_family(sp.family).arch_type == "anynet" for r in sampled(name, 40, 1)]  # cell nets: no AnyNet
    edge = {"depths": [1, 2, 1, 3], "widths": [256, 512, 1024, 2048], "strides": [2, 2, 2, 2],
            "bot_muls": [1 / 128] * 4, "group_ws": [1, 2, 4, 8], "se_r": 0.25, "stem_w": 24}
    configs += [edge, {**configs[-1], "regnet": {"depth": 13, "w0": 24, "wa": 1e-05, "wm": 2.49, "group_w": 8,
                                                   "bot_mul": 1.0}}]  # an exponent: the stdlib path
    for c in configs:
        cfg = AnyNetConfig.model_validate(c)
        assert canonical_hash(cfg.model_dump(mode="json", exclude_none=True)) == cfg.config_hash()

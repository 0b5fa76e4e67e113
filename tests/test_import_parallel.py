"""The chunked, parallel import (`services.importing.import_file`) writes exactly what the whole-file path
(`parse_file` + `import_population`) writes: the same models, results and study row, on SQLite and
PostgreSQL — with records converted in forked worker processes, chunks smaller than the file, JSON lists
parsed record by record in the workers (and parsed whole again where they do not split as guessed), bad
records skipped in early chunks (indices renumbered), repeated configs across chunks (hashes renamed) and
NDS cell nets whose operation counts are zero-filled only once every chunk is in.
"""

from __future__ import annotations

import json
import math
import subprocess

import pytest
from sqlalchemy import select

from backend.forkpool import can_fork
from backend.importers import RecordError, parse_file
from backend.importers.source import SplitMismatch, span_value, split_list
from backend.services.importing import import_file, import_population
from backend.services.views import ImportSummary
from db.models import models, results, studies

pytestmark = pytest.mark.skipif(not can_fork(), reason="worker processes are forked")

MODEL_SKIP = {"id", "study_id", "created_at"}
RESULT_SKIP = {"id", "model_id", "created_at"}
STUDY_KEYS = ("space_name", "space", "dataset", "recipe", "regime", "im_size", "num_classes", "source", "notes",
              "n_models")


def stored(engine, study_id: int) -> tuple[dict, list[dict], list[dict]]:
    """A study as stored: its row, and its models and results (in index order) without ids and stamps."""
    with engine.connect() as conn:
        study = conn.execute(select(studies).where(studies.c.id == study_id)).mappings().one()
        model_rows = conn.execute(select(models).where(models.c.study_id == study_id)
                                  .order_by(models.c.index)).mappings().all()
        result_rows = conn.execute(select(results).join(models, results.c.model_id == models.c.id)
                                   .where(models.c.study_id == study_id).order_by(models.c.index)).mappings().all()
    return ({k: study[k] for k in STUDY_KEYS},
            [{k: v for k, v in r.items() if k not in MODEL_SKIP} for r in model_rows],
            [{k: v for k, v in r.items() if k not in RESULT_SKIP} for r in result_rows])


def both_ways(engine, data: bytes | str, filename: str, *, skip_bad: bool = False, chunk_records: int = 7):
    """The file imported whole in this process and chunked in two workers (JSON lists split, whatever their
    size); the two import summaries."""
    serial = import_population(engine, parse_file(data, filename, skip_bad=skip_bad), "whole-" + filename,
                               source=filename)
    chunked = import_file(engine, data, filename, "chunked-" + filename, skip_bad=skip_bad, source=filename,
                          workers=2, chunk_records=chunk_records, split_min_chars=0)
    return serial, chunked


def assert_same_study(engine, serial: ImportSummary, chunked: ImportSummary) -> None:
    differ = {"study_id", "name", "seconds"}
    assert chunked.model_dump(exclude=differ) == serial.model_dump(exclude=differ)
    assert stored(engine, chunked.study_id) == stored(engine, serial.study_id)


@pytest.mark.parametrize("name", ["ResNeXt-A_in.json", "DARTS_in.json", "Vanilla_reruns.json"])
def test_nds_files_store_the_same_either_way(db_engine, reference_dir, name):
    serial, chunked = both_ways(db_engine, (reference_dir / "nds" / name).read_bytes(), name)
    assert_same_study(db_engine, serial, chunked)
    c_models = stored(db_engine, chunked.study_id)[1]
    if name.startswith("DARTS"):  # cell nets: every operation the file uses is a column of every model
        keys = [set(m["extra"]) for m in c_models]
        assert len({frozenset(k) for k in keys}) == 1 and any(k.startswith("reduce_") for k in keys[0])


def test_skipped_records_and_repeats_across_chunks(db_engine, reference_dir):
    runs = json.loads((reference_dir / "nds" / "ResNeXt-B_in.json").read_text())[:40]
    runs += runs[:12]  # the same runs again: repeated hashes in later chunks
    for i in (1, 3, 20, 44):  # bad records in the first chunk, in the middle and among the repeats
        runs[i] = {**runs[i], "min_test_top1": "n/a"}
    runs[30]["test_ep_top1"][-1] = math.nan
    text = json.dumps(runs)
    serial, chunked = both_ways(db_engine, text, "ResNeXt-B_in.json", skip_bad=True, chunk_records=5)
    assert chunked.skipped == serial.skipped == 4
    assert chunked.skipped_records == serial.skipped_records
    assert chunked.skipped_records[0] == "record 1: min_test_top1: must be a number, got str 'n/a'"
    _, s_models, s_results = stored(db_engine, serial.study_id)
    _, c_models, c_results = stored(db_engine, chunked.study_id)
    assert [m["index"] for m in c_models] == list(range(48))
    assert len({m["config_hash"] for m in c_models}) == 48
    assert c_models == s_models and c_results == s_results


def test_our_jsonl_export_with_a_bad_line(db_engine, reference_dir):
    pop = parse_file((reference_dir / "nds" / "ResNeXt-A_in.json").read_bytes(), "ResNeXt-A_in.json")
    lines = [json.dumps({"index": r.index, "arch_type": "anynet", "error": r.result.error, "flops": r.flops,
                         "params": r.params, "config": r.config["anynet"], "test_error": r.result.test_error})
             for r in pop.records if "anynet" in r.config]
    lines.insert(17, "{not json")
    text = "\n".join(lines)
    with pytest.raises(RecordError, match="record 17: malformed JSON on line 18"):
        import_file(db_engine, text, "pop.jsonl", "fails", workers=2, chunk_records=6)
    with db_engine.connect() as conn:  # nothing of the failed import is left
        assert conn.execute(select(studies.c.id).where(studies.c.name == "fails")).first() is None
    serial, chunked = both_ways(db_engine, text, "pop.jsonl", skip_bad=True, chunk_records=6)
    assert chunked.imported == serial.imported == len(lines) - 1
    assert stored(db_engine, chunked.study_id)[1:] == stored(db_engine, serial.study_id)[1:]


@pytest.mark.slow
def test_server_imports_a_large_upload_in_worker_processes(live_server, reference_dir):
    """A file of PARALLEL_MIN_RECORDS runs uploaded to the real server converts in forked workers (forked from
    a request thread of uvicorn): every run is stored, the server answers meanwhile, and no worker is left."""
    import concurrent.futures

    import numpy as np

    from backend.services.importing import PARALLEL_MIN_RECORDS

    c = live_server.client
    runs = json.loads((reference_dir / "nds" / "ResNeXt-A_in.json").read_text())
    runs = [runs[i % len(runs)] for i in range(PARALLEL_MIN_RECORDS)]  # repeats: renamed hashes, all kept
    study = f"large-upload-{live_server.port}"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        upload = pool.submit(c.post, "/api/studies/import", files={"file": ("ResNeXt-A_in.json", json.dumps(runs))},
                             data={"study": study})
        while not upload.done():
            assert c.get("/api/health").status_code == 200
        r = upload.result()
    assert r.status_code == 201, r.text
    out = r.json()
    errors = np.array([run["min_test_top1"] for run in runs])
    assert out["imported"] == PARALLEL_MIN_RECORDS and out["skipped"] == 0
    assert out["min_error"] == errors.min() and out["mean_error"] == pytest.approx(errors.mean(), rel=1e-12)
    page = c.get(f"/api/studies/{out['study_id']}/models", params={"limit": 3, "sort": "-index"}).json()
    assert page["total"] == PARALLEL_MIN_RECORDS and page["items"][0]["index"] == PARALLEL_MIN_RECORDS - 1
    left = subprocess.run(["pgrep", "-P", str(live_server.proc.pid)], capture_output=True, text=True).stdout
    assert left.strip() == "", f"worker processes left behind: {left}"


def test_json_lists_that_do_not_split_as_guessed(db_engine, reference_dir):
    """Every run opens with `{"job_id":`; one run also holds an object opening that way, so the guessed
    split cuts it in two: the import parses the file whole instead and stores what the whole-file path
    does. A syntax error inside a record is reported for that record, as the whole-file parse reports it."""
    runs = json.loads((reference_dir / "nds" / "ResNeXt-A_in.json").read_text())[:30]
    runs[11] = {**runs[11], "note": {"job_id": "the opening of a run, inside a run"}}
    text = json.dumps(runs)
    spans = split_list(text)
    assert len(spans) == 31  # the guess: one run too many
    with pytest.raises(SplitMismatch):
        [span_value(text, span) for _, span in spans]
    serial, chunked = both_ways(db_engine, text, "ResNeXt-A_in.json", chunk_records=4)
    assert chunked.imported == 30
    assert_same_study(db_engine, serial, chunked)

    runs[17] = {**runs[17], "min_test_top1": "@"}
    broken = json.dumps(runs[:11] + runs[12:]).replace('"@"', "@")
    with pytest.raises(RecordError) as whole:
        parse_file(broken, "ResNeXt-A_in.json")
    with pytest.raises(RecordError) as split:
        import_file(db_engine, broken, "ResNeXt-A_in.json", "broken", workers=2, chunk_records=4, split_min_chars=0)
    assert str(split.value) == str(whole.value) and str(whole.value).startswith("record 16: malformed JSON")
    with db_engine.connect() as conn:
        assert conn.execute(select(studies.c.id).where(studies.c.name == "broken")).first() is None


def test_our_json_list_splits_too(db_engine, reference_dir):
    pop = parse_file((reference_dir / "nds" / "ResNeXt-B_in.json").read_bytes(), "ResNeXt-B_in.json")
    rows = [{"config": r.config["anynet"], "error": r.result.error, "flops": r.flops, "params": r.params,
             "test_error": r.result.test_error} for r in pop.records if "anynet" in r.config]
    serial, chunked = both_ways(db_engine, json.dumps(rows), "pop.json", chunk_records=9)
    assert chunked.imported == len(rows) > 9
    assert_same_study(db_engine, serial, chunked)

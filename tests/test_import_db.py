"""Importing into real databases (SQLite and PostgreSQL): the four NDS files, one-transaction imports,
the CLI, and the upload endpoint on a real uvicorn server — including the round trip of a sampled study
through the real export endpoint and back in.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import run_cli
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.designspace.config import AnyNetConfig
from backend.designspace.params import PARAM_NAMES, flat_params
from backend.importers import parse_file
from backend.services.errors import Conflict, InvalidInput
from backend.services.importing import import_population
from db.models import events, models, results, studies

NDS_FILES = ("ResNeXt-A_in.json", "ResNeXt-B_in.json", "DARTS_in.json", "Vanilla_reruns.json")


def raw_errors(reference_dir, name: str) -> np.ndarray:
    data = json.loads((reference_dir / "nds" / name).read_text())
    runs = data if isinstance(data, list) else [r for g in data.values() for r in g]
    return np.array([r["min_test_top1"] for r in runs], dtype=float)


def table_counts(conn) -> tuple[int, int, int]:
    return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (studies, models, results))


def test_all_four_nds_files_import_with_raw_json_statistics(db_engine, reference_dir):
    for name in NDS_FILES:
        pop = parse_file((reference_dir / "nds" / name).read_bytes(), name)
        out = import_population(db_engine, pop, name.removesuffix(".json"), source=name)
        want = raw_errors(reference_dir, name)
        with db_engine.connect() as conn:
            study = conn.execute(select(studies).where(studies.c.id == out.study_id)).mappings().one()
            q = (select(func.count(), func.min(results.c.error), func.avg(results.c.error))
                 .select_from(models.join(results)).where(models.c.study_id == out.study_id))
            n, lo, mean = conn.execute(q).one()
            assert n == len(want) == out.imported
            assert lo == want.min() and mean == pytest.approx(want.mean(), rel=1e-9)
            assert study["source"] == "imported" and study["space_name"] == f"nds:{name.split('_')[0]}"
            assert study["dataset"] == {"name": "cifar10" if name.startswith("Vanilla") else "imagenet"}
            first = conn.execute(select(models, results.c.error, results.c.test_error).select_from(models.join(results))
                                 .where(models.c.study_id == out.study_id).order_by(models.c.index)
                                 .limit(1)).mappings().one()
            assert first["index"] == 0 and first["extra"]["lr"] > 0 and len(first["test_error"]) >= 50
            assert first["arch_type"].startswith("nds_")
            if "anynet" in first["config"]:
                cfg = AnyNetConfig.model_validate(first["config"]["anynet"])
                for p in ("d", "d_1", "w_1", "d_3", "w_3"):
                    assert first[p] == flat_params(cfg)[p]


def test_import_is_one_transaction(db_engine, reference_dir):
    name = "ResNeXt-A_in.json"
    pop = parse_file((reference_dir / "nds" / name).read_bytes(), name)
    import_population(db_engine, pop, "first")
    with db_engine.connect() as conn:
        before = table_counts(conn) + (conn.execute(select(func.count()).select_from(events)).scalar_one(),)
    with pytest.raises(Conflict, match="a study named 'first' exists already"):
        import_population(db_engine, pop, "first")
    with pytest.raises(InvalidInput, match="study: must be 1-200 characters"):
        import_population(db_engine, pop, "../etc")
    # fail halfway: the study and every model are inserted, then the results insert breaks on the last row
    # (diverged is NOT NULL) — everything before it in the transaction must roll back too
    pop.records[-1].result.diverged = None
    with pytest.raises(IntegrityError):
        import_population(db_engine, pop, "second")
    pop.records[-1].result.diverged = False
    pop.records[-1].config_hash = pop.records[0].config_hash  # the unique (study, hash) key breaks
    with pytest.raises(IntegrityError):
        import_population(db_engine, pop, "third")
    with db_engine.connect() as conn:
        after = table_counts(conn) + (conn.execute(select(func.count()).select_from(events)).scalar_one(),)
        assert after == before
        assert conn.execute(select(studies.c.name).order_by(studies.c.id)).scalars().all() == ["first"]


def test_large_sqlite_import_rebuilds_the_same_indexes(sqlite_url, reference_dir, monkeypatch):
    """Above REBUILD_MIN_ROWS the models indexes are dropped and rebuilt inside the transaction: afterwards
    (and after a failed import) sqlite_master holds exactly the indexes it held before."""
    from db import bulk
    from db.engine import make_engine
    from db.migrate import upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    index_sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'models' ORDER BY name"
    with engine.connect() as conn:
        before = conn.exec_driver_sql(index_sql).all()
    assert len(before) > 20
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 10)
    pop = parse_file((reference_dir / "nds" / "ResNeXt-B_in.json").read_bytes(), "ResNeXt-B_in.json")
    pop.records[-1].result.diverged = None  # fails in the results insert, after the indexes were dropped
    with pytest.raises(IntegrityError):
        import_population(engine, pop, "broken")
    with engine.connect() as conn:
        assert conn.exec_driver_sql(index_sql).all() == before
        assert conn.execute(select(func.count()).select_from(models)).scalar_one() == 0
    pop.records[-1].result.diverged = False
    out = import_population(engine, pop, "rebuilt")
    with engine.connect() as conn:
        assert conn.exec_driver_sql(index_sql).all() == before
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        n = conn.execute(select(func.count()).select_from(models)
                         .where(models.c.study_id == out.study_id, models.c.d_1 == 1)).scalar_one()
        stamp = conn.execute(select(models.c.created_at).limit(1)).scalar_one()
    assert n == sum(r.columns["d_1"] == 1 for r in pop.records) > 0
    assert stamp.year >= 2024  # the driver-level insert stored a timestamp SQLAlchemy reads back
    engine.dispose()


def test_skip_bad_counts_and_nan_curves_store_as_null(db_engine, reference_dir):
    runs = json.loads((reference_dir / "nds" / "ResNeXt-B_in.json").read_text())[:6]
    runs[2].pop("min_test_top1")
    runs[4]["min_test_top1"] = math.nan
    runs[4]["test_ep_top1"][-1] = math.nan
    pop = parse_file(json.dumps(runs), "ResNeXt-B_in.json", skip_bad=True)
    out = import_population(db_engine, pop, "with bad")
    assert (out.imported, out.skipped, out.diverged) == (5, 1, 1)
    assert out.skipped_records == ["record 2: min_test_top1: missing"]
    with db_engine.connect() as conn:
        row = conn.execute(select(results.c.error, results.c.diverged, results.c.test_error)
                           .select_from(models.join(results))
                           .where(models.c.study_id == out.study_id, models.c.index == 3)).one()
    assert row.error == 100.0 and row.diverged and row.test_error[-1] is None


def test_cli_import_and_one_line_errors(sqlite_url, reference_dir, tmp_path, capsys):
    path = reference_dir / "nds" / "Vanilla_reruns.json"
    ok = subprocess.run([sys.executable, "-m", "backend.cli", "import", str(path), "--study", "vanilla",
                         "--db", sqlite_url], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "imported 200 models into study 'vanilla'" in ok.stdout and "[nds, cifar10]" in ok.stdout
    code, _, err = run_cli(capsys, "import", str(path), "--study", "vanilla", "--db", sqlite_url)
    assert (code, err) == (2, "error: study: a study named 'vanilla' exists already\n")
    runs = json.loads(path.read_text())["top"][:4]
    runs[3]["flops"] = "lots"
    bad = tmp_path / "Bad_in.json"
    bad.write_text(json.dumps(runs))
    code, _, err = run_cli(capsys, "import", str(bad), "--study", "bad", "--db", sqlite_url)
    assert (code, err) == (2, "error: record 3: flops: must be a number, got str 'lots'\n")
    code, out, _ = run_cli(capsys, "import", str(bad), "--study", "bad", "--db", sqlite_url, "--skip-bad")
    assert code == 0 and "imported 3 models" in out and "1 skipped" in out
    assert "skipped record 3: flops: must be a number" in out
    code, _, err = run_cli(capsys, "import", str(tmp_path / "nope.json"), "--study", "x", "--db", sqlite_url)
    assert code == 2 and err.startswith("error: file: not found")
    code, _, err = run_cli(capsys, "import", str(path), "--study", "x", "--format", "yaml", "--db", sqlite_url)
    assert code == 2 and err.startswith("error: format: must be auto or one of nds")


# ---------------------------------------------------------------------------------------------------------
# The upload endpoint on a real server, and the round trip through the real export endpoint.

def _complete_all_jobs(db_url: str, study_id: int, seed: int = 0) -> None:
    """Give every queued job of the study a result through the real queue, as a worker does (no training)."""
    from db.engine import make_engine
    from db.queue import claim_job, complete_job, register_worker

    rng = np.random.default_rng(seed)
    engine = make_engine(db_url)
    try:
        worker = register_worker(engine, "cpu", host="test")
        while (job := claim_job(engine, worker, study_id=study_id)) is not None:
            curve = sorted((float(x) for x in rng.uniform(5, 95, 4)), reverse=True)
            curve[1] = curve[1] / 7 * math.pi  # awkward floats must survive the round trip
            assert complete_job(engine, job.job_id, worker, {
                "test_error": curve, "train_error": curve, "train_loss": [2.0, 1.0, 0.5, 0.25],
                "train_seconds": float(rng.uniform(1, 9)), "infer_ms": float(rng.uniform(0.1, 2))})
    finally:
        engine.dispose()


def _upload(client, name: str, content: bytes, study: str, **form):
    return client.post("/api/studies/import", files={"file": (name, content)}, data={"study": study, **form})


def _population(client, study_id: int) -> list[dict]:
    page = client.get(f"/api/studies/{study_id}/models", params={"limit": 1000, "sort": "id"}).json()
    return page["items"]


def _curves(client, study_id: int) -> list[tuple]:
    """Every model's per-epoch curves, in id order (read from the JSON export, which carries them)."""
    rows = client.get(f"/api/studies/{study_id}/export", params={"format": "json", "sort": "id"}).json()
    return [(r["test_error"], r["train_error"], r["train_loss"]) for r in rows]


def test_export_then_import_reproduces_edf_and_parameters(live_server):
    server = live_server
    c = server.client
    r = c.post("/api/studies", json={"name": f"import-native-{server.port}", "space": "RegNetX", "n": 40, "seed": 7})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    _complete_all_jobs(server.db_url, sid)
    native = _population(c, sid)
    assert len(native) == 40 and all(m["error"] is not None for m in native)
    native_curves = _curves(c, sid)
    for fmt in ("jsonl", "csv", "json", "parquet"):
        exported = c.get(f"/api/studies/{sid}/export", params={"format": fmt})
        assert exported.status_code == 200
        # a Parquet file is told by its magic bytes, the others by their suffix
        up = _upload(c, "native" if fmt == "parquet" else f"native.{fmt}", exported.content,
                     f"import-back-{fmt}-{server.port}")
        assert up.status_code == 201, up.text
        assert up.json()["imported"] == 40 and up.json()["format"] == fmt
        back = _population(c, up.json()["study_id"])
        assert sorted(m["error"] for m in back) == sorted(m["error"] for m in native)  # the same EDF
        for a, b in zip(native, back, strict=True):  # imported in export order (by id)
            assert b["config"] == a["config"]
            for key in ("error", "error_final", "diverged", "flops", "params", "acts", "train_seconds", "infer_ms",
                        *PARAM_NAMES):
                assert b[key] == a[key], (fmt, key)
            assert b["status"] == "done" and b["arch_type"] == "anynet"
        if fmt != "csv":  # the CSV has no curves; the others carry them exactly
            assert _curves(c, up.json()["study_id"]) == native_curves, fmt


def test_upload_nds_file_and_bad_uploads(live_server, reference_dir):
    server = live_server
    c = server.client
    name = "DARTS_in.json"
    r = _upload(c, name, (reference_dir / "nds" / name).read_bytes(), f"import-darts-{server.port}")
    assert r.status_code == 201, r.text
    out = r.json()
    want = raw_errors(reference_dir, name)
    assert out["imported"] == 121 and out["min_error"] == want.min()
    assert out["mean_error"] == pytest.approx(want.mean(), rel=1e-12)
    models_page = c.get(f"/api/studies/{out['study_id']}/models", params={"limit": 5, "sort": "error"}).json()
    assert models_page["total"] == 121 and models_page["items"][0]["error"] == want.min()
    assert models_page["items"][0]["extra"]["normal_sep_conv_3x3"] >= 0
    assert c.get(f"/api/studies/{out['study_id']}").json()["source"] == "imported"

    runs = json.loads((reference_dir / "nds" / name).read_text())[:3]
    runs[1]["min_test_top1"] = "bad"
    bad = _upload(c, name, json.dumps(runs).encode(), f"import-bad-{server.port}")
    assert bad.status_code == 422
    item = bad.json()["detail"][0]
    assert item["field"] == "file" and item["msg"] == "record 1: min_test_top1: must be a number, got str 'bad'"
    assert (item["record"], item["record_field"]) == ("1", "min_test_top1")
    assert all(s["name"] != f"import-bad-{server.port}" for s in c.get("/api/studies").json())  # nothing written
    skipped = _upload(c, name, json.dumps(runs).encode(), f"import-bad-{server.port}", skip_bad="true")
    assert skipped.status_code == 201 and skipped.json()["skipped"] == 1 and skipped.json()["imported"] == 2
    taken = _upload(c, name, json.dumps(runs).encode(), f"import-bad-{server.port}", skip_bad="true")
    assert taken.status_code == 409
    broken = _upload(c, "x.jsonl", b'{"config": {}, "error": 1}\n{"error": 2,\n', f"import-broken-{server.port}")
    assert broken.status_code == 422 and broken.json()["detail"][0]["msg"].startswith("record 0: config.")
    fmt = _upload(c, name, b"[]", f"import-fmt-{server.port}", format="yaml")
    assert fmt.status_code == 422 and fmt.json()["detail"][0]["field"] == "format"
    unknown = _upload(c, "notes.txt", b"hello", f"import-unknown-{server.port}")
    assert unknown.status_code == 422
    assert unknown.json()["message"].startswith("file: cannot tell the format of notes.txt; name it")
    empty = _upload(c, name, b"[]", f"import-empty-{server.port}", format="nds")
    assert empty.status_code == 422 and "no importable records" in empty.json()["message"]


def test_imported_nds_studies_round_trip_through_their_exports(live_server, reference_dir):
    """An imported family (raw NDS config, arch_type nds_*) exported as JSONL or CSV imports back the same:
    errors, raw configs, arch_type, parameter columns and extra parameters (DARTS operation counts included),
    all flattened again from the raw config — the exports need not carry them."""
    c = live_server.client
    for name in ("DARTS_in.json", "Vanilla_reruns.json"):
        first = _upload(c, name, (reference_dir / "nds" / name).read_bytes(), f"import-{name}-{live_server.port}")
        assert first.status_code == 201, first.text
        original = _population(c, first.json()["study_id"])
        for fmt in ("jsonl", "csv", "parquet"):
            exported = c.get(f"/api/studies/{first.json()['study_id']}/export", params={"format": fmt})
            back = _upload(c, f"again.{fmt}", exported.content, f"import-{name}-{fmt}-{live_server.port}")
            assert back.status_code == 201, back.text
            again = _population(c, back.json()["study_id"])
            assert len(again) == len(original)
            for a, b in zip(original, again, strict=True):
                for key in ("name", "arch_type", "config", "extra", "error", "error_final", "diverged", "flops",
                            "params", *PARAM_NAMES):
                    assert b[key] == a[key], (name, fmt, key)

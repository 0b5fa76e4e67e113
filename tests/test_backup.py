"""Backup and restore (issue 18): `netspace dump` / `netspace restore` round-trip studies exactly between SQLite and
PostgreSQL — spec, recipe, regime, notes, lineage (a refined child), models, results with curves, and jobs in every
queue state — and refuse what they cannot do (an unknown archive version, a name already taken)."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest
from conftest import run_cli
from refine_helpers import make_study
from sqlalchemy import select

from backend.services.notes import save_note
from backend.services.refine import RefineIn, refine_study
from db import queue
from db.backup import VERSION, dump_file
from db.engine import make_engine
from db.migrate import upgrade
from db.models import jobs, models, results, studies


def _build(url: str) -> None:
    """A parent with every queue state and results with curves, and a refined child with a few queued jobs."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        sid, _ = make_study(engine, "parent", "AnyNetX_A", 14, seed=3, notes="the parent; ünïcode ✓")
        child = refine_study(engine, sid, RefineIn(step={"name": "child", "share": ["b"]}, preview=False, n=6,
                                                   seed=5, notes="shared b"))
        cid = child["study"]["id"] if "study" in child else child["id"]
        w = queue.register_worker(engine, "cpu", worker_id="backup-test-worker")
        done = queue.claim_job(engine, w, 60, study_id=cid)
        assert queue.complete_job(engine, done.job_id, w, {"test_error": [61.5, 40.25, 33.125], "train_loss":
                                                           [2.3, 1.1, 0.7], "train_seconds": 1.5, "device": "cpu"})
        failing = queue.claim_job(engine, w, 60, study_id=cid)
        queue.fail_job(engine, failing.job_id, w, "boom: out of memory")  # queued again, attempts 1
        running = queue.claim_job(engine, w, 60, study_id=cid)
        queue.record_epoch(engine, running.job_id, w, {"epoch": 0, "test_error": 70.0})
        queued = [r.id for r in _rows(engine, jobs) if r.status == "queued"]
        queue.cancel_job(engine, queued[-1])
        save_note(engine, "study", cid, "# why b is shared\nsee **A**", "local")  # notes travel by their foreign key
        save_note(engine, "model", done.model_id, "the one that finished", "token 0123abcd")
    finally:
        engine.dispose()


def _rows(engine, table) -> list:
    with engine.connect() as conn:
        return conn.execute(select(table).order_by(table.c.id)).all()


def _dump(capsys, url: str, out, *args: str) -> bytes:
    code, _, err = run_cli(capsys, "dump", "--db", url, "--out", str(out), *(args or ("--all",)))
    assert code == 0, err
    return out.read_bytes()


def _restore(capsys, url: str, path, *args: str) -> tuple[int, str]:
    code, _, err = run_cli(capsys, "restore", str(path), "--db", url, *args)
    return code, err


@pytest.mark.postgres
def test_dump_restore_dump_is_byte_identical_sqlite_postgres_sqlite(capsys, tmp_path, sqlite_url, pg_url):
    _build(sqlite_url)
    first = _dump(capsys, sqlite_url, tmp_path / "a.gz")
    header = orjson.loads(gzip.decompress(first).split(b"\n", 1)[0])
    assert header["version"] == VERSION and header["studies"] == ["parent", "child"]
    assert set(header["tables"]) == {"studies", "models", "jobs", "results", "note_revisions"}
    src = make_engine(sqlite_url)
    statuses = {r.status for r in _rows(src, jobs)}
    assert statuses == {"done", "queued", "running", "cancelled"}, statuses

    pg_engine = make_engine(pg_url)
    upgrade(pg_engine)
    with pg_engine.begin() as conn:  # ids in use already: the restore must place its rows above them
        conn.execute(studies.insert().values(name="already here", space_name="x", space={}, dataset={}, recipe={},
                                             regime={}, im_size=32, num_classes=10))
    code, err = _restore(capsys, pg_url, tmp_path / "a.gz")
    assert code == 0, err
    second = _dump(capsys, pg_url, tmp_path / "b.gz", "--study", "parent", "--study", "child")
    assert second == first

    fresh = f"sqlite:///{tmp_path / 'again.db'}"
    code, err = _restore(capsys, fresh, tmp_path / "b.gz")
    assert code == 0, err
    assert _dump(capsys, fresh, tmp_path / "c.gz") == first

    # what came back is the study as it was: lineage, curves, queue state, mirrors
    dst = pg_engine
    by_name = {r.name: r for r in _rows(dst, studies)}
    assert by_name["child"].parent_id == by_name["parent"].id and by_name["parent"].notes == "the parent; ünïcode ✓"
    for table, skip in ((studies, {"id", "parent_id"}), (models, {"id", "study_id"}),
                        (jobs, {"id", "model_id"}), (results, {"id", "model_id", "job_id"})):
        a = [{k: v for k, v in r._mapping.items() if k not in skip} for r in _rows(src, table)]
        b = [{k: v for k, v in r._mapping.items() if k not in skip} for r in _rows(dst, table)]
        if table is studies:
            b = [r for r in b if r["name"] != "already here"]
        assert a == b, table.name
    done = [r for r in _rows(dst, results) if r.test_error == [61.5, 40.25, 33.125]]
    assert len(done) == 1 and done[0].train_loss == [2.3, 1.1, 0.7]
    src.dispose()
    dst.dispose()


def test_restore_refuses_a_taken_name_unless_renamed(capsys, tmp_path, sqlite_url):
    _build(sqlite_url)
    path = tmp_path / "both.gz"
    _dump(capsys, sqlite_url, path)
    before = _dump(capsys, sqlite_url, tmp_path / "before.gz")
    code, err = _restore(capsys, sqlite_url, path)
    assert code == 2 and err.count("\n") == 1 and "'child', 'parent'" in err and "--rename" in err, err
    assert _dump(capsys, sqlite_url, tmp_path / "after.gz") == before  # nothing written
    code, err = _restore(capsys, sqlite_url, path, "--rename", "parent=parent-2", "--rename", "child=child-2")
    assert code == 0, err
    engine = make_engine(sqlite_url)
    by_name = {r.name: r for r in _rows(engine, studies)}
    assert by_name["child-2"].parent_id == by_name["parent-2"].id  # the lineage moves with the renamed pair
    engine.dispose()
    # one study whose parent is not in the archive: linked to the study of that name where there is one
    _dump(capsys, sqlite_url, tmp_path / "child.gz", "--study", "child")
    code, err = _restore(capsys, sqlite_url, tmp_path / "child.gz", "--rename", "child-3")
    assert code == 0, err
    engine = make_engine(sqlite_url)
    by_name = {r.name: r for r in _rows(engine, studies)}
    assert by_name["child-3"].parent_id == by_name["parent"].id
    engine.dispose()


def test_unknown_versions_and_damaged_archives_are_refused(capsys, tmp_path, sqlite_url):
    _build(sqlite_url)
    path = tmp_path / "ok.gz"
    lines = gzip.decompress(_dump(capsys, sqlite_url, path, "--study", "parent")).split(b"\n")
    target = f"sqlite:///{tmp_path / 'target.db'}"
    header = json.loads(lines[0])
    cases = {"v2.gz": gzip.compress(json.dumps({**header, "version": VERSION + 1}).encode() + b"\n"
                                    + b"\n".join(lines[1:])),
             "cut.gz": gzip.compress(b"\n".join(lines[: len(lines) // 2]) + b"\n"),
             "plain.txt": b"not an archive\n",
             "newer.gz": gzip.compress(json.dumps({**header, "tables": {**header["tables"], "models": [
                 *header["tables"]["models"], "from_the_future"]}}).encode() + b"\n" + b"\n".join(lines[1:]))}
    expected = {"v2.gz": f"archive format version {VERSION + 1} is not one this netspace reads",
                "cut.gz": "incomplete", "plain.txt": "not a netspace dump", "newer.gz": "newer netspace"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        code, err = _restore(capsys, target, tmp_path / name)
        assert code == 2 and err.startswith("error: file: ") and expected[name] in err, (name, err)
        assert err.count("\n") == 1
    engine = make_engine(target)
    assert _rows(engine, studies) == []  # nothing of a refused archive was written
    engine.dispose()
    code, err = _restore(capsys, target, path)
    assert code == 0, err
    code, _, err = run_cli(capsys, "dump", "--db", sqlite_url, "--out", str(tmp_path / "x.gz"), "--study", "nope")
    assert code == 2 and "no study named 'nope'" in err


def test_dump_streams_in_batches(tmp_path, sqlite_url, monkeypatch):
    """Rows are read and written BATCH at a time (the file grows while the dump runs), never all at once."""
    import db.backup as backup

    _build(sqlite_url)
    monkeypatch.setattr(backup, "BATCH", 3)
    engine = make_engine(sqlite_url)
    sizes = []

    class Probe:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            sizes.append(len(data))
            return self.f.write(data)

        def flush(self):
            self.f.flush()

    with (tmp_path / "s.gz").open("wb") as f:
        counts = backup.dump(engine, Probe(f), None)
    assert counts["models"] == 20 and len(sizes) > 5
    assert dump_file(engine, tmp_path / "t.gz") == counts
    engine.dispose()

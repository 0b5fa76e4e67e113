"""Columnar snapshots: a process that holds no population reads a large study's snapshot file and patches it
with what changed since, instead of reading the study from the database; a bad or foreign file is replaced."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import finish_jobs

from backend.services import population as popmod
from backend.services import snapshot
from backend.services.population import cached_population, load_population
from backend.services.studies import StudyIn, create_study, delete_study


@pytest.fixture
def small_snapshots(monkeypatch):
    """Snapshots from 20 models on (the real threshold is 20,000: the logic is the same, the test fast)."""
    monkeypatch.setattr(snapshot, "SNAPSHOT_MIN", 20)


def _study(engine, name: str = "snap", n: int = 40) -> int:
    return create_study(engine, StudyIn(name=name, space="RegNetX", n=n, regime={"flops": [None, "5M"]}))["id"]


def _new_process() -> None:
    snapshot.flush()  # the snapshot a full read writes in the background
    popmod._CACHE.items.clear()  # what a restarted server, or another server process, holds


def _same(a, b) -> None:
    assert a.names == b.names and len(a) == len(b)
    for name in a.names:
        if a[name].dtype.kind == "f":
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        else:
            assert a[name].tolist() == b[name].tolist(), name


def test_a_cold_process_patches_the_snapshot_instead_of_reading(db_engine, db_url, small_snapshots):
    sid = _study(db_engine)
    finish_jobs(db_url, sid, [0.5, 0.25])
    _new_process()
    before = popmod.LOADS.copy()
    cached_population(db_engine, sid)  # a full read writes the snapshot (in the background)
    assert popmod.LOADS["full"] == before["full"] + 1
    snapshot.flush()
    path = snapshot.directory(db_engine) / f"study-{sid}.arrow"
    assert path.exists()

    finish_jobs(db_url, sid, [0.125, 0.75, 0.3])  # changes after the snapshot was written
    _new_process()
    got = cached_population(db_engine, sid)
    assert popmod.LOADS["full"] == before["full"] + 1 and popmod.LOADS["snapshot"] == before["snapshot"] + 1
    _same(got, load_population(db_engine, sid))
    assert np.nanmin(got["error"]) == 0.125


def test_a_damaged_snapshot_is_replaced(sqlite_engine, small_snapshots):
    sid = _study(sqlite_engine)
    cached_population(sqlite_engine, sid)
    snapshot.flush()
    path = snapshot.directory(sqlite_engine) / f"study-{sid}.arrow"
    path.write_bytes(b"not an arrow file")
    _new_process()
    full = popmod.LOADS["full"]
    _same(cached_population(sqlite_engine, sid), load_population(sqlite_engine, sid))
    assert popmod.LOADS["full"] == full + 1
    snapshot.flush()
    assert path.read_bytes()[:6] == b"ARROW1"  # written anew by the full read


def test_a_snapshot_of_a_deleted_study_is_never_used_for_another(sqlite_engine, small_snapshots):
    sid = _study(sqlite_engine, "first")
    cached_population(sqlite_engine, sid)
    delete_study(sqlite_engine, sid, confirm=True)
    other = _study(sqlite_engine, "second", n=30)
    assert other == sid  # SQLite gives the new study the deleted one's id: the file name alone would match
    _new_process()
    got = cached_population(sqlite_engine, other)
    _same(got, load_population(sqlite_engine, other))
    assert len(got) == 30


def test_an_imported_study_snapshot_keeps_its_extra_columns(db_engine, small_snapshots, reference_dir):
    """The extra columns (lr, width, op counts, ...) travel through the snapshot, and an extra-column filter cuts
    the snapshot-loaded population exactly as SQL filters the table."""
    from backend.services.filters import ModelFilter
    from backend.services.importing import import_file

    path = reference_dir / "nds" / "DARTS_in.json"
    sid = import_file(db_engine, path.read_bytes(), path.name, "darts-snap").study_id
    _new_process()
    whole = cached_population(db_engine, sid)  # full read, writes the snapshot
    assert {"width", "depth", "lr", "normal_sep_conv_3x3"} <= set(whole.extra_names)
    _new_process()
    before = popmod.LOADS.copy()
    got = cached_population(db_engine, sid)
    assert popmod.LOADS["snapshot"] == before["snapshot"] + 1 and popmod.LOADS["full"] == before["full"]
    assert got.extra_names == whole.extra_names
    _same(got, load_population(db_engine, sid, extra=True))
    flt = ModelFilter.model_validate({"width_max": 48, "normal_sep_conv_3x3_min": 2})
    cut, sql = cached_population(db_engine, sid, flt), load_population(db_engine, sid, flt)
    assert 0 < len(cut) < len(got) and cut["id"].tolist() == sql["id"].tolist()


def test_an_unchanged_study_is_served_from_its_snapshot_as_is(db_engine, db_url, small_snapshots):
    """A restart with nothing changed since the snapshot (the cold-EDF case at 10^6 models): the file's columns
    are the population, not copied and re-sorted; models only appended since keep id order without a sort."""
    sid = _study(db_engine, "unchanged")
    finish_jobs(db_url, sid, [0.5, 0.25])
    cached_population(db_engine, sid)
    _new_process()
    before = popmod.LOADS.copy()
    got = cached_population(db_engine, sid)
    assert popmod.LOADS["snapshot"] == before["snapshot"] + 1 and popmod.LOADS["full"] == before["full"]
    _same(got, load_population(db_engine, sid, extra=True))
    from backend.services.sampling import queue_samples

    queue_samples(db_engine, sid, 6, seed=3)  # appended only
    _new_process()
    got = cached_population(db_engine, sid)
    assert len(got) == 46 and np.all(np.diff(got["id"]) > 0)
    _same(got, load_population(db_engine, sid, extra=True))


def test_figures_drawn_from_the_mapped_file_equal_those_of_a_full_read(db_engine, db_url, small_snapshots):
    """The snapshot's numeric columns are read-only views of the mapped file (no decompression, no copy): every
    figure kind draws from them exactly what it draws from a database read, and none writes into them."""
    from backend.figures import FIGURES, to_json
    from backend.services.figures import study_figure

    sid = _study(db_engine, "mapped")
    finish_jobs(db_url, sid, [0.5, 0.25, 0.3, 0.125, 0.75, 0.4, 0.35, 0.45, 0.2, 0.6])
    cached_population(db_engine, sid)
    _new_process()
    got = cached_population(db_engine, sid)
    _, cols = snapshot.load(db_engine, got.study, popmod._WHOLE_COLUMNS)
    assert not cols["error"].flags.writeable and not cols["error"].flags.owndata  # a view of the mapped file
    assert cols["diverged"].dtype == bool and cols["status"].dtype == object
    _same(popmod.Population(sid, got.study, cols, extra_names=got.extra_names), load_population(db_engine, sid,
                                                                                                   extra=True))
    kinds = [(f.name, {"param": "flops"} if "param" in f.required else {}) for f in FIGURES]
    mapped = {k: to_json(study_figure(db_engine, k, [sid], **o)) for k, o in kinds}
    (snapshot.directory(db_engine) / f"study-{sid}.arrow").unlink()
    _new_process()
    full = popmod.LOADS["full"]
    read = {k: to_json(study_figure(db_engine, k, [sid], **o)) for k, o in kinds}
    assert popmod.LOADS["full"] == full + 1
    assert mapped == read

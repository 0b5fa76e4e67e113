"""The dashboard's columnar population: loaded once when many ask together, warmed for large studies at start."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
from conftest import ROOT

from backend.services import columns
from backend.services.popcache import VersionedCache

sys.path.insert(0, str(ROOT))  # bench/ is not an installed package
from bench.population_fixture import build_study


def test_concurrent_callers_share_one_load():
    cache: VersionedCache[bytes] = VersionedCache(4)
    calls: list[int] = []

    def load() -> bytes:
        calls.append(1)
        time.sleep(0.2)  # long enough that every thread below asks while the first load is running
        return b"body"

    out: list[bytes] = []
    threads = [threading.Thread(target=lambda: out.append(cache.get_or_load((7, (1, 10)), load))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [b"body"] * 8 and len(calls) == 1
    assert cache.get_or_load((7, (2, 10)), lambda: b"new") == b"new"  # a new data version loads again
    assert cache.get((7, (1, 10))) is None  # and replaces the old one


def test_warm_reads_large_recent_studies_into_the_cache(db_engine):
    big = build_study(db_engine, "big", columns.WARM_MIN_MODELS)["study_id"]
    small = build_study(db_engine, "small", 50)["study_id"]
    assert columns.warm(db_engine) == [big]  # the small one loads fast enough on demand

    cache = columns.cache_of(db_engine)
    with db_engine.connect() as conn:
        key = (big, columns.data_version(conn, big))
    body = cache.get(key)
    assert body is not None and body.startswith(columns.MAGIC)
    assert columns.population_body(db_engine, big) is body  # served from the cache, not read again

    cols = columns.load_columns(db_engine, big)
    assert len(cols) == columns.WARM_MIN_MODELS and np.isfinite(cols.values["error"]).all()
    assert columns.population_body(db_engine, small) == columns.encode_binary(columns.load_columns(db_engine, small))


def test_filters_cut_in_numpy_match_the_database(db_engine):
    """The figures of a filter are cut from the cached whole population (population.subset): the same rows and
    values as the database's filtered read, for ranges (NULL excluded), status, arch_type and ids."""
    from backend.services.filters import ModelFilter
    from backend.services.population import load_population, subset
    from backend.services.sampling import queue_samples

    sid = build_study(db_engine, "cut", 400)["study_id"]
    queue_samples(db_engine, sid, 60, seed=5)  # queued: no error, status 'queued'
    whole = load_population(db_engine, sid)
    ids = [int(i) for i in whole["id"][::7]]
    flops = np.sort(whole["flops"])
    filters = [
        {"flops_min": float(flops[50]), "flops_max": float(flops[300])},
        {"error_max": float(np.nanmedian(whole["error"]))},  # also drops every queued model (NULL error)
        {"status": ["queued"]}, {"status": ["done", "queued"], "d_max": 12.0},
        {"w_4_min": 100.0, "g_max": 16.0, "ids": ids}, {"arch_type": "anynet", "error_min": 0.0},
        {"arch_type": "nds_resnext"},
    ]
    for f in filters:
        flt = ModelFilter(**f)
        cut, read = subset(whole, flt), load_population(db_engine, sid, flt)
        assert cut is not None and set(cut.columns) == set(read.columns), f
        for name, col in read.columns.items():
            np.testing.assert_array_equal(cut[name], col, err_msg=f"{f}: {name}")
    assert 0 < len(subset(whole, ModelFilter(**filters[0]))) < len(whole)
    assert subset(whole, ModelFilter(top=10)) is None  # best-k is left to the database

"""The request path of figures: figure JSON cached per study data version (a result elsewhere keeps it, a result
here redraws it with the new model), drawn in the figure pool with the same bytes as in the request's thread,
a figure error crossing the pool with the field it names, locks that do not outlive their use, and training
workers at a lower CPU priority."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from conftest import finish_jobs

from backend.figures import to_json
from backend.services import derived, popcache
from backend.services import figures as figmod
from backend.services import population as popmod
from backend.services.errors import InvalidInput
from backend.services.figures import study_figure, study_figure_json
from backend.services.studies import StudyIn, create_study
from db.events import study_data_version, study_version


def _study(engine, name: str, n: int = 12) -> int:
    return create_study(engine, StudyIn(name=name, space="RegNetX", n=n, regime={"flops": [None, "5M"]}))["id"]


def _n(body: bytes) -> int:
    return sum(json.loads(body)["layout"]["meta"]["n"].values())


def test_a_result_elsewhere_keeps_the_figure_and_a_result_here_redraws_it(db_engine, db_url):
    a, b = _study(db_engine, "fig-a"), _study(db_engine, "fig-b")
    finish_jobs(db_url, a, [0.3, 0.2, 0.25])
    finish_jobs(db_url, b, [0.5])
    first = study_figure_json(db_engine, "edf", [a])
    loads, full = figmod.FIGURE_LOADS.copy(), popmod.LOADS["full"]
    finish_jobs(db_url, b, [0.4, 0.6])  # claims, job states and results, all of study b
    assert study_figure_json(db_engine, "edf", [a]) is first  # the same object: no load, no build
    assert figmod.FIGURE_LOADS["build"] == loads["build"] and popmod.LOADS["full"] == full
    assert figmod.FIGURE_LOADS["hit"] == loads["hit"] + 1

    finish_jobs(db_url, a, [0.1])  # a's own new result: in the very next figure
    again = study_figure_json(db_engine, "edf", [a])
    assert figmod.FIGURE_LOADS["build"] == loads["build"] + 1
    assert _n(first) == 3 and _n(again) == 4
    assert again == to_json(study_figure(db_engine, "edf", [a])).encode()


def test_options_and_filters_are_part_of_the_key(db_engine, db_url):
    from backend.services.filters import ModelFilter

    sid = _study(db_engine, "fig-key")
    finish_jobs(db_url, sid, [0.3, 0.2, 0.25, 0.4])
    flops = study_figure_json(db_engine, "scatter", [sid], param="flops")
    params = study_figure_json(db_engine, "scatter", [sid], param="params")
    assert flops != params
    cut = study_figure_json(db_engine, "edf", [sid], flt=ModelFilter.model_validate({"error_max": 0.26}))
    assert _n(cut) == 2 and _n(study_figure_json(db_engine, "edf", [sid])) == 4


@pytest.fixture
def pool_for_small(monkeypatch):
    """The figure pool for any population (its real threshold is POOL_MIN models: the path is the same)."""
    monkeypatch.setattr(figmod, "POOL_MIN", 0)
    monkeypatch.setenv("NETSPACE_FIGURE_PROCS", "1")
    assert figmod.start_pool() is not None
    yield
    figmod.stop_pool()


def test_the_pool_draws_the_same_bytes_as_the_thread(db_engine, db_url, pool_for_small):
    sid = _study(db_engine, "fig-pool", n=20)
    finish_jobs(db_url, sid, [0.3, 0.2, 0.25, 0.4, 0.35, 0.5, 0.45, 0.28])
    builds = figmod.FIGURE_LOADS["build"]
    for kind, options in (("edf", {}), ("scatter", {"param": "flops"}), ("stats", {}), ("curves", {"k": 2})):
        assert study_figure_json(db_engine, kind, [sid], **options) == \
            to_json(study_figure(db_engine, kind, [sid], **options)).encode(), kind
    assert figmod.FIGURE_LOADS["build"] == builds + 4


def test_a_broken_pool_falls_back_to_the_thread(db_engine, db_url, pool_for_small):
    sid = _study(db_engine, "fig-broken", n=8)
    finish_jobs(db_url, sid, [0.3, 0.2, 0.25])
    pool = figmod._pool
    for proc in list(pool._processes.values()):
        proc.kill()
        proc.join(10)
    assert study_figure_json(db_engine, "edf", [sid]) == to_json(study_figure(db_engine, "edf", [sid])).encode()
    assert figmod._pool is None  # shut down: the next figures are drawn in the thread


def test_a_figure_error_crosses_the_pool_naming_its_field(db_engine, db_url, pool_for_small):
    sid = _study(db_engine, "fig-err", n=8)
    finish_jobs(db_url, sid, [0.3, 0.2, 0.25])
    with pytest.raises(InvalidInput) as err:
        study_figure_json(db_engine, "edf_normalized", [sid], bins=100)  # 3 models cannot fill 100 bins
    assert err.value.field == "bins"


def test_one_query_version_equals_the_parts(db_engine, db_url):
    sid = _study(db_engine, "fig-version")
    finish_jobs(db_url, sid, [0.3])
    with db_engine.connect() as conn:
        got = study_version(conn, sid)
        assert got[:2] == study_data_version(conn, sid) and got[2] == 12
        assert study_version(conn, 10**9) == (0, 0, 0)


def test_locks_live_only_while_used(db_engine, db_url):
    sid = _study(db_engine, "fig-locks")
    finish_jobs(db_url, sid, [0.3])
    study_figure_json(db_engine, "e_fit", [sid])
    assert len(popmod._CACHE.loading) == 0 and len(figmod._FIGURES.loading) == 0 and len(derived._locks) == 0

    locks = popcache.KeyedLocks()
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locks.hold("k"):
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    assert len(locks) == 1
    release.set()
    thread.join(10)
    assert len(locks) == 0


@pytest.mark.parametrize("env, expected", [(None, 10), ("0", 0), ("5", 5)])
def test_workers_train_at_a_lower_cpu_priority(env, expected):
    environ = {k: v for k, v in os.environ.items() if k != "NETSPACE_WORKER_NICE"}
    if env is not None:
        environ["NETSPACE_WORKER_NICE"] = env
    code = ("import os; from workers.worker import lower_priority; base = os.nice(0); "
            "print(lower_priority(None) - base)")
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) == min(expected, 19 - os.nice(0))

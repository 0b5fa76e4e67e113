"""Stored e_fit: computed once (sampler, worker, import, migration backfill), equal to the on-demand fit, and what
the figures and refinement read instead of fitting on request."""

from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa
from conftest import finish_jobs

from backend.analysis.widths import e_fit_column
from backend.designspace.builtin import get_space
from backend.designspace.sampling import Regime, sample
from backend.services.derived import fill_e_fit
from backend.services.figures import study_figure
from backend.services.population import load_population
from backend.services.studies import StudyIn, create_study
from db.derived import count_pending
from db.engine import make_engine
from db.migrate import upgrade
from db.models import models
from db.queue import claim_job, complete_job, register_worker


def _study(engine, space: str, n: int = 16) -> int:
    return create_study(engine, StudyIn(name=space.lower(), space=space, n=n,
                                        regime={"flops": [None, "5M"]}))["id"]


def _pending(engine, study_id: int) -> int:
    with engine.connect() as conn:
        return count_pending(conn, study_id)


def _stored(engine, study_id: int) -> tuple[list[dict], np.ndarray, list[bool]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(models.c.config, models.c.e_fit, models.c.derived)
                            .where(models.c.study_id == study_id).order_by(models.c.id)).all()
    return ([json.loads(c) if isinstance(c, str) else c for c, _, _ in rows],
            np.array([np.nan if e is None else e for _, e, _ in rows]), [bool(d) for _, _, d in rows])


def test_regnet_samples_store_their_exact_zero_at_sampling(db_engine):
    sid = _study(db_engine, "RegNetX")
    configs, e_fit, derived = _stored(db_engine, sid)
    assert all(derived) and (e_fit == 0).all()
    np.testing.assert_array_equal(e_fit, e_fit_column(configs))  # what a full search finds: the law fits exactly


def test_filled_e_fit_equals_the_on_demand_fit(db_engine):
    sid = _study(db_engine, "AnyNetX_A")
    assert _pending(db_engine, sid) == 16  # AnyNet samples: left for the worker or a fill
    assert fill_e_fit(db_engine, sid) == 16 and fill_e_fit(db_engine, sid) == 0  # once
    configs, e_fit, derived = _stored(db_engine, sid)
    assert all(derived) and (e_fit > 0).all()
    np.testing.assert_array_equal(e_fit, e_fit_column(configs))


def test_the_worker_stores_e_fit_with_its_result(db_engine):
    from workers.worker import derived_values

    sid = _study(db_engine, "AnyNetX_A", n=2)
    wid = register_worker(db_engine, "cpu")
    job = claim_job(db_engine, wid, study_id=sid)
    assert complete_job(db_engine, job.job_id, wid, {"error": 30.0}, derived_values(job.config))
    with db_engine.connect() as conn:
        e, done = conn.execute(sa.select(models.c.e_fit, models.c.derived).where(models.c.id == job.model_id)).one()
    assert done and e == e_fit_column([job.config])[0] > 0
    assert _pending(db_engine, sid) == 1  # the other model waits for its worker


def test_figures_read_the_stored_column(db_engine, db_url):
    sid = _study(db_engine, "AnyNetX_A", n=12)
    finish_jobs(db_url, sid, [30.0 + i for i in range(12)])  # no derived values: as if trained elsewhere
    fig = study_figure(db_engine, "e_fit", [sid])  # fits the pending models once and stores them
    assert _pending(db_engine, sid) == 0
    configs, stored, _ = _stored(db_engine, sid)
    xs = np.concatenate([np.asarray(t.x, dtype=float) for t in fig.data if t.x is not None and len(t.x)])
    np.testing.assert_allclose(np.sort(xs[np.isfinite(xs)]), np.sort(stored), rtol=1e-6)  # figure: float32
    pop = load_population(db_engine, sid)
    np.testing.assert_array_equal(pop["e_fit"], e_fit_column([c for c in configs]))
    # e_fit is a filterable column like any other
    from backend.services.filters import ModelFilter

    cut = float(np.median(stored))
    assert len(load_population(db_engine, sid, ModelFilter(e_fit_max=cut))) == int((stored <= cut).sum())


def test_the_migration_backfills_e_fit(db_url):
    engine = make_engine(db_url)
    upgrade(engine, "0006")
    space = {"RegNetX": None, "AnyNetX_A": None}
    configs = []
    for name in space:
        res = sample(get_space(name), 6, seed=0, regime=Regime(flops=(None, 5e6)), im_size=32)
        configs += [r["config"] for r in res.records()]
    configs.append({"type": "nas_cell", "genotype": "darts"})  # no stage lists: no e_fit, but derived
    with engine.begin() as conn:
        conn.execute(sa.text("""INSERT INTO studies (name, space_name, space, dataset, recipe, regime, im_size,
            num_classes, seed, source, created_at, n_models) VALUES ('old', 'mixed', '{}', '{}', '{}', '{}', 32, 10, 0,
            'imported', '2025-01-01 00:00:00', :n)"""), {"n": len(configs)})
        sid = conn.execute(sa.text("SELECT id FROM studies WHERE name = 'old'")).scalar_one()
        conn.execute(sa.text("""INSERT INTO models (study_id, "index", config, config_hash, arch_type, flops, params,
            created_at) VALUES (:s, :i, :c, :h, 'anynet', 1, 1, '2025-01-01 00:00:00')"""),
                     [{"s": sid, "i": i, "c": json.dumps(c), "h": f"h{i}"} for i, c in enumerate(configs)])
    upgrade(engine)
    _, e_fit, derived = _stored(engine, sid)
    assert all(derived)
    np.testing.assert_array_equal(e_fit, e_fit_column(configs))
    assert np.isnan(e_fit[-1]) and (e_fit[:6] == 0).all() and (e_fit[6:12] > 0).all()
    engine.dispose()


def test_an_import_with_repeated_configs_fits_each_config_once(db_engine, reference_dir):
    """Imports hold reruns and repeats: the fill stores every model's e_fit, fitting each distinct config once
    (390 records of 130 configs here), with the value a fit of that config gives."""
    from backend.services.importing import import_file

    runs = json.loads((reference_dir / "nds" / "ResNeXt-A_in.json").read_text().replace("NaN", "null"))
    out = import_file(db_engine, json.dumps(runs * 3), "ResNeXt-A_in.json", "repeats")
    assert fill_e_fit(db_engine, out.study_id) == out.imported == 3 * len(runs)
    configs, e_fit, derived = _stored(db_engine, out.study_id)
    assert all(derived) and np.isfinite(e_fit).all()
    keys = [json.dumps(c, sort_keys=True) for c in configs]
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    unique = sorted(first.values())
    np.testing.assert_array_equal(e_fit[unique], e_fit_column([configs[i] for i in unique]))
    assert all(e_fit[i] == e_fit[first[k]] for i, k in enumerate(keys))

"""Learning failures (backend.analysis.failures): the did-not-learn flag from real training on digits, stored by
the queue, counted in figure legends, and left out by the one filter on /models, figures and export — on a real
server over SQLite and PostgreSQL. Also the migration that adds the columns, up and down on both databases."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import uuid

import numpy as np
import pytest
import sqlalchemy as sa
import torch

from backend.analysis.failures import CHANCE_MARGIN, at_chance, chance_error, count_failures, did_not_learn
from backend.importers.nds import convert_run
from backend.study_spec import DatasetSpec, Recipe
from db import queue
from db.engine import make_engine
from db.migrate import alembic_config, current_revision, upgrade
from db.queue import result_values
from workers.data import load_dataset
from workers.train import train_model

SMALL = {"type": "regnet", "depth": 6, "w0": 16, "wa": 16.0, "wm": 2.5, "group_w": 8}


# ------------------------------------------------------------------------------------------------ pure rules

def test_chance_margin_and_loss_rule():
    assert chance_error(10) == pytest.approx(90.0) and chance_error(1000) == pytest.approx(99.9)
    assert chance_error(None) is None and chance_error(1) is None
    edge = 90.0 * (1 - CHANCE_MARGIN)  # 81 % on a 10-class dataset
    assert at_chance(edge, 10) and not at_chance(edge - 0.01, 10) and at_chance(None, 10) is None
    assert did_not_learn(85.0, 10) is True and did_not_learn(40.0, 10) is False
    assert did_not_learn(40.0, 10, initial_loss=2.3, final_loss=2.5) is True  # got worse than at init
    assert did_not_learn(40.0, 10, initial_loss=2.3, final_loss=1.0) is False
    assert did_not_learn(40.0, None) is None  # no class count, no losses: unknown
    assert did_not_learn(40.0, None, initial_loss=2.3, final_loss=2.0) is False
    assert did_not_learn(100.0, 10, diverged=True) is False  # a diverged model carries its own flag
    counts = count_failures(np.array([True, False, False, False]), np.array([True, True, False, True]))
    assert (counts.n, counts.diverged, counts.did_not_learn) == (4, 1, 2)
    assert counts.label() == "n=4, 1 diverged, 2 did not learn"
    assert count_failures(np.zeros(3, bool), np.zeros(3, bool)).label() == "n=3"


def test_imported_nds_runs_are_flagged_by_chance_of_their_dataset(reference_dir):
    data = json.loads((reference_dir / "nds" / "Vanilla_reruns.json").read_text())  # CIFAR-10: chance 90 %
    run = next(iter(data.values()))[0]
    learned = convert_run(run, "r0", 0, space="Vanilla", imagenet=False)
    assert learned.result.error_final < 20 and learned.result.did_not_learn is False
    stuck_run = {**run, "min_test_top1": 85.0, "test_ep_top1": [*run["test_ep_top1"][:-1], 85.0]}
    stuck = convert_run(stuck_run, "r1", 1, space="Vanilla", imagenet=False)
    assert stuck.result.did_not_learn is True
    assert not stuck.result.diverged  # 85 % is not within the importers' half point of chance


# ------------------------------------------------------------------------------------------------ real training

@pytest.fixture(scope="module")
def digits16():
    return load_dataset(DatasetSpec(), 16, torch.device("cpu"))


def test_a_normal_run_learned(digits16):
    r = train_model(SMALL, digits16, Recipe(epochs=2, batch_size=32, lr=0.1), seed=1, device="cpu")
    assert not r.diverged and r.error_final < 50.0
    assert r.did_not_learn is False and r.initial_loss == pytest.approx(np.log(10), rel=0.2)
    stored = result_values(r.as_result())
    assert stored["did_not_learn"] is False and stored["initial_loss"] == r.initial_loss


def test_an_lr_too_high_to_learn_is_flagged_not_diverged(digits16):
    r = train_model(SMALL, digits16, Recipe(epochs=2, batch_size=32, lr=8.0), seed=1, device="cpu")
    assert not r.diverged and all(np.isfinite(v) for v in r.train_losses)  # finite all along ...
    assert r.error_final >= 81.0 and r.did_not_learn is True  # ... and at chance
    assert result_values(r.as_result())["did_not_learn"] is True


def test_shuffled_labels_are_flagged(digits16):
    gen = torch.Generator().manual_seed(0)
    shuffled = dataclasses.replace(digits16, y_train=digits16.y_train[torch.randperm(digits16.num_train,
                                                                                      generator=gen)])
    r = train_model(SMALL, shuffled, Recipe(epochs=2, batch_size=32, lr=0.1), seed=1, device="cpu")
    assert not r.diverged and r.error_final >= 81.0 and r.did_not_learn is True


def test_a_diverged_run_is_not_also_did_not_learn(digits16):
    r = train_model(SMALL, digits16, Recipe(epochs=3, batch_size=32, lr=50.0), seed=1, device="cpu")
    assert r.diverged and r.did_not_learn is False


# ------------------------------------------------------------------------------------------------ server

@pytest.fixture(scope="module")
def failing_study(live_server):
    """Five models: one learned, one diverged, two did not learn, one still queued (results as a worker writes)."""
    c = live_server.client
    s = c.post("/api/studies", json={"name": f"fail-{uuid.uuid4().hex[:6]}", "space": "RegNetX", "n": 5,
                                     "regime": {"flops": [None, "60M"]}}).json()
    engine = make_engine(live_server.db_url)
    w = queue.register_worker(engine, "cpu", host="tester")
    outcomes = [{"test_error": [30.0, 12.0], "train_loss": [2.0, 0.5], "initial_loss": 2.3, "did_not_learn": False},
                {"test_error": [100.0], "train_loss": [None], "diverged": True, "did_not_learn": False},
                {"test_error": [88.0, 87.0], "train_loss": [2.4, 2.3], "initial_loss": 2.3, "did_not_learn": True},
                {"test_error": [70.0, 60.0], "train_loss": [2.6, 2.5], "initial_loss": 2.3, "did_not_learn": True}]
    ids = []
    for res in outcomes:
        job = queue.claim_job(engine, w, 60, study_id=s["id"])
        assert queue.complete_job(engine, job.job_id, w, res)
        ids.append(job.model_id)
    engine.dispose()
    return {"id": s["id"], "ok": ids[0], "diverged": ids[1], "stuck": ids[2:]}


def test_models_show_and_the_filter_excludes_failures(live_server, failing_study):
    c, sid = live_server.client, failing_study["id"]
    rows = c.get(f"/api/studies/{sid}/models", params={"limit": 100}).json()["items"]
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == 5
    assert by_id[failing_study["diverged"]]["diverged"] is True
    assert [by_id[i]["did_not_learn"] for i in failing_study["stuck"]] == [True, True]
    assert by_id[failing_study["ok"]]["did_not_learn"] is False
    kept = c.get(f"/api/studies/{sid}/models", params={"exclude_failures": "true", "limit": 100}).json()
    assert kept["total"] == 2  # the learned one and the queued one: no result is no failure
    queued = set(by_id) - {failing_study["ok"], failing_study["diverged"], *failing_study["stuck"]}
    assert len(queued) == 1 and {r["id"] for r in kept["items"]} == {failing_study["ok"], *queued}
    detail = c.get(f"/api/models/{failing_study['stuck'][0]}").json()
    assert detail["did_not_learn"] is True and detail["initial_loss"] == 2.3
    bad = c.get(f"/api/studies/{sid}/models", params={"exclude_failures": "maybe"})
    assert bad.status_code == 422 and "exclude_failures" in bad.text


def test_legends_count_failures_and_the_filter_reaches_figures_and_export(live_server, failing_study):
    c, sid = live_server.client, failing_study["id"]
    edf = c.get(f"/api/studies/{sid}/figures/edf").json()
    names = [t.get("name") or "" for t in edf["data"]]
    assert any("n=4, 1 diverged, 2 did not learn" in n for n in names), names  # the EDF keeps its failures
    clean = c.get(f"/api/studies/{sid}/figures/edf", params={"exclude_failures": "true"}).json()
    assert any(" n=1 " in (t.get("name") or "") for t in clean["data"])
    text = c.get(f"/api/studies/{sid}/export", params={"format": "csv"}).text
    flags = [r["did_not_learn"] for r in csv.DictReader(io.StringIO(text))]
    assert sorted(flags, key=str) == sorted(["False", "False", "True", "True", ""], key=str)
    text = c.get(f"/api/studies/{sid}/export", params={"format": "csv", "exclude_failures": "true"}).text
    assert len(list(csv.DictReader(io.StringIO(text)))) == 2


# ------------------------------------------------------------------------------------------------ migration

def test_migration_adds_and_drops_the_columns(db_url):
    from alembic import command

    engine = make_engine(db_url)
    upgrade(engine)
    cols = {c["name"] for c in sa.inspect(engine).get_columns("results")}
    assert {"did_not_learn", "initial_loss"} <= cols
    command.downgrade(alembic_config(db_url), "0008")
    assert current_revision(engine) == "0008"
    engine.dispose()
    engine = make_engine(db_url)
    cols = {c["name"] for c in sa.inspect(engine).get_columns("results")}
    assert not {"did_not_learn", "initial_loss"} & cols
    if engine.dialect.name == "sqlite":  # the mirror triggers of migrations 0003/0004 survive the downgrade
        with engine.connect() as conn:
            triggers = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                            "AND tbl_name = 'results'")).scalars().all()
        assert len(triggers) >= 3, triggers
    upgrade(engine)
    assert {"did_not_learn", "initial_loss"} <= {c["name"] for c in sa.inspect(engine).get_columns("results")}
    engine.dispose()

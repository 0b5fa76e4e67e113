"""The NDS cell spaces as a space family (`nds_cell`, families/nds_cell.py): one spec format with AnyNet and
RegNet, so the registry's API, study creation, the Queue page's menu (GET /api/spaces) and `netspace sample` all
offer them; and a queued cell model is trained by a real worker."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from conftest import ROOT

from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.cell_spaces import CELL_SPACES, sample_cells
from backend.designspace.cells import cell_complexity, parse_genotype
from backend.designspace.families import get_family
from backend.designspace.sampling import Regime, SamplingError, sample
from backend.designspace.size import space_size
from backend.designspace.spec import SpaceSpec

CELLS = ("NDS_Amoeba", "NDS_DARTS", "NDS_ENAS", "NDS_NASNet", "NDS_PNAS")


def tiny(cell: str = "DARTS", **params: object) -> dict:
    """A cell space small enough to train in seconds on digits: 8 channels, 3 cells (two of them reductions)."""
    return {"name": f"tiny-{cell}", "family": "nds_cell", "options": {"cell": cell}, "im_size": 32,
            "num_classes": 10, "params": {"w": {"law": "choice", "values": [8, 16]},
                                          "d": {"law": "fixed", "value": 3}, **params}}


def test_every_cell_space_is_a_builtin_spec_of_the_family():
    assert [k for k in builtin_spaces() if k in CELL_SPACES] == list(CELLS)
    fam = get_family("nds_cell")
    for name in CELLS:
        space = get_space(name)
        cells = fam.cell_space(space, 224, 1000)
        assert cells == CELL_SPACES[name]  # the spec's widths and depths are the cell space's own lists
        size = space_size(space)  # 5 widths x 5 depths x the genotypes (tests/test_space_size.py)
        assert size.exact == 25 * size.params["genotype"].count > 10**20
    described = fam.describe()
    assert described["options"] == [{"name": "cell", "help": fam.options[0].help,
                                     "values": ["DARTS", "NASNet", "PNAS", "ENAS", "Amoeba"], "default": None}]
    assert (described["per_block_widths"], described["arch_type"], described["refine_steps"]) == \
        (False, "nds_cell", [])


@pytest.mark.parametrize("name", CELLS)
def test_the_family_draws_what_sample_cells_draws(name):
    """Same seed, same nets: the spec path (studies, `netspace sample`) and the cell sampler agree."""
    res = sample(get_space(name), 30, seed=4, regime=Regime(flops=(1e8, 6e8), params=(None, 5e6)))
    want = sample_cells(CELL_SPACES[name], 30, seed=4, flops=(1e8, 6e8), params=(None, 5e6)).records
    assert len(res) == 30 and res.records() == want


@pytest.mark.parametrize(("change", "field", "allowed"), [
    ({"options": {"cell": "Nope"}}, "options.cell", "DARTS, NASNet, PNAS, ENAS, Amoeba"),
    ({"options": {}}, "options.cell", "DARTS, NASNet, PNAS, ENAS, Amoeba"),
    ({"options": {"cell": "DARTS", "nodes": "7"}}, "options.nodes", "cell"),
    ({"params": {"w": {"law": "log_uniform", "low": 8, "high": 64, "q": 8}, "d": {"law": "fixed", "value": 3}}},
     "params.w.law", "choice, fixed, uniform"),
    ({"params": {"w": {"law": "fixed", "value": 8}, "d": {"law": "choice", "values": [3, 80]}}}, "params.d",
     "[1, 64]"),
    ({"params": {"w": {"law": "fixed", "value": 12}, "d": {"law": "fixed", "value": 3}}}, "params.w", None),
])
def test_bad_specs_name_the_field(change, field, allowed):
    with pytest.raises(ValueError) as e:
        SpaceSpec.model_validate({**tiny(), **change})
    errors = e.value.errors()  # pydantic keeps the InvalidField in the error's context
    err = errors[0]["ctx"]["error"]
    assert err.field == field, errors
    if allowed:
        assert err.allowed == allowed


def test_an_empty_regime_or_acts_is_refused_naming_the_field():
    with pytest.raises(SamplingError) as e:
        sample(SpaceSpec.model_validate(tiny()), 3, regime=Regime(acts=(1, 2)))
    assert e.value.field == "regime.acts"
    # an empty regime is called after empty_after candidates (100,000 by default), not after max_candidates
    with pytest.raises(ValueError) as e:
        sample_cells(CELL_SPACES["NDS_ENAS"], 3, flops=(1, 2), empty_after=8192)
    assert e.value.field == "regime" and "8,192 candidates" in str(e.value)


def test_api_lists_the_family_and_a_study_queues_cell_samples(sqlite_server):
    c = sqlite_server.client
    fams = {f["name"]: f for f in c.get("/api/families").json()}
    assert fams["nds_cell"]["options"][0]["values"] == ["DARTS", "NASNet", "PNAS", "ENAS", "Amoeba"]
    assert fams["nds_cell"]["params"] == ["w", "d"] and fams["nds_cell"]["columns"][0] == "d"
    # the Queue page's built-in menu (GET /api/spaces) and the spec it copies for "Edit a copy"
    spaces = {s["name"]: s for s in c.get("/api/spaces").json()}
    assert all(spaces[k]["family"] == "nds_cell" for k in CELLS)
    copy = c.get("/api/spaces/NDS_PNAS").json()
    assert copy["options"] == {"cell": "PNAS"}
    # the page's "Edit a copy as a custom spec": the copy checks as valid, with the built-in space's size
    check = c.post("/api/spaces/validate", json={"text": json.dumps({**copy, "name": "NDS_PNAS_custom"})}).json()
    assert (check["valid"], check["spec"]["family"]) == (True, "nds_cell"), check
    assert check["size"] == float(space_size(get_space("NDS_PNAS")).exact), check

    body = {"name": "cells-pnas", "space": "NDS_PNAS", "dataset": {"name": "digits"}, "im_size": 224,
            "regime": {"flops": ["200M", "400M"]}, "seed": 3, "n": 5}
    r = c.post("/api/studies", json=body)
    assert r.status_code == 201, r.text
    study = r.json()
    assert study["samples"]["queued"] == 5 and study["sampleable"] and study["space"]["family"] == "nds_cell"
    items = c.get(f"/api/studies/{study['id']}/models", params={"sort": "id", "limit": 10}).json()["items"]
    # the CLI gives the same nets for the same seed: counted at the study's 224 px and its 10 classes
    proc = subprocess.run([sys.executable, "-m", "backend.cli", "sample", "--space", "NDS_PNAS", "--n", "5",
                           "--seed", "3", "--flops", "200M:400M"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    cli = [json.loads(line)["config"] for line in proc.stdout.splitlines()]
    assert [m["config"] for m in items] == cli  # 1000 vs 10 classes moves no net across 200M/400M here
    for m in items:
        cfg = m["config"]
        cx = cell_complexity(cfg["width"], cfg["depth"], parse_genotype(cfg["genotype"]), num_classes=10)
        assert (m["arch_type"], m["status"], m["flops"], m["params"]) == ("nds_cell", "queued", cx["macs"],
                                                                          cx["params"])
        assert m["d"] == cfg["depth"] and m["extra"]["width"] == cfg["width"]
        assert m["extra"]["release_flops"] == cx["flops"] and m["acts"] is None
        assert sum(v for k, v in m["extra"].items() if k.startswith("reduce_")) == 10  # 5 nodes, 2 ops each

    bad = c.post("/api/studies", json={**body, "name": "cells-bad", "space": {**tiny(), "options": {"cell": "X"}}})
    assert bad.status_code == 422
    item = bad.json()["detail"][0]
    assert item["field"] == "space.options.cell" and "DARTS, NASNet" in item["msg"], item
    acts = c.post("/api/studies", json={**body, "name": "cells-acts", "regime": {"acts": [1, 2e9]}})
    assert acts.status_code == 422 and acts.json()["detail"][0]["field"] == "regime.acts", acts.text


def test_csv_is_refused_for_nested_cell_configs(capsys):
    from conftest import run_cli

    code, _, err = run_cli(capsys, "sample", "--space", "NDS_ENAS", "--n", "2", "--format", "csv")
    assert code == 2 and "format" in err and "jsonl or yaml" in err


@pytest.mark.slow
def test_a_worker_trains_a_queued_cell_model(sqlite_url, sqlite_engine):
    """Study -> queue -> a real worker claims, trains (digits, 1 epoch) and stores the result: the whole path a
    cell model takes, on SQLite."""
    import torch
    from sqlalchemy import select

    from backend.services.studies import StudyIn, create_study
    from db.models import jobs, models, results
    from workers.worker import Worker, WorkerOptions

    space = tiny(w={"law": "fixed", "value": 16})
    study = create_study(sqlite_engine, StudyIn.model_validate({
        "name": "cells-e2e", "space": space, "dataset": {"name": "digits"}, "seed": 1, "n": 1,
        "recipe": {"epochs": 2, "batch_size": 64, "lr": 0.1}}))
    assert study["samples"]["queued"] == 1
    worker = Worker(WorkerOptions(db_url=sqlite_url, device="cpu", once=True, max_jobs=1, poll_seconds=0.1,
                                  study_id=study["id"], nice=0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny net: more threads only contend (50 s instead of 10 s on a loaded 2-core host)
    try:
        assert worker.run() == 0
    finally:
        torch.set_num_threads(threads)
        worker.engine.dispose()
    with sqlite_engine.connect() as conn:
        row = conn.execute(select(models, results.c.error, results.c.test_error, jobs.c.status, jobs.c.epochs_done)
                           .join(results, results.c.model_id == models.c.id)
                           .join(jobs, jobs.c.model_id == models.c.id)
                           .where(models.c.study_id == study["id"])).mappings().one()
    cfg = row["config"]
    assert (cfg["type"], cfg["space"], cfg["width"], cfg["depth"]) == ("nds_cell", "NDS_DARTS", 16, 3)
    assert (row["status"], row["epochs_done"], len(row["test_error"])) == ("done", 2, 2)
    assert math.isfinite(row["error"]) and row["error"] < 80, row["test_error"]  # it learned: chance is 90 %
    cx = cell_complexity(16, 3, parse_genotype(cfg["genotype"]), im_size=32, num_classes=10)
    assert (row["flops"], row["params"]) == (cx["macs"], cx["params"])

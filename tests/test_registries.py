"""Every extension registry (backend/registry.py) is served by the API as it is, and every entry is complete.

An axis's entries are the modules of its package; the API lists them (so the dashboard's menus and any client
see a new entry without a change elsewhere), the request schemas take exactly their names, and each entry has
everything its axis needs. See DEVELOPERS.md, "Extension axes".
"""

from __future__ import annotations

import pickle
import typing

import numpy as np
import pytest

from backend.datasets import DATASETS, Dataset, PickleBatches, dataset_names
from backend.designspace import columns as column_table
from backend.designspace.families import FAMILIES, REFINE_STEPS, family_names
from backend.designspace.params import PARAM_NAMES
from backend.exporters import EXPORT_FORMATS, ExportFormat
from backend.figures import FIGURES, FigureKind
from backend.figures.kinds import OPTIONS, Need, Page
from backend.importers import IMPORT_FORMATS, ImportFormat
from backend.services.importing import UNKNOWN_DATASET_SIZES, dataset_sizes
from backend.study_spec import DatasetSpec


def schema_enum(spec: dict, model: str, field: str) -> list[str]:
    """The enum OpenAPI documents for `model.field` (the registry's Literal)."""
    return spec["components"]["schemas"][model]["properties"][field]["enum"]


@pytest.fixture(scope="module")
def api(shared_sqlite_server):
    return shared_sqlite_server.client


@pytest.fixture(scope="module")
def openapi(api) -> dict:
    return api.get("/openapi.json").json()


# ------------------------------------------------------------------------------------------- space families

def test_families_are_served_and_complete(api):
    served = api.get("/api/families").json()
    assert [f["name"] for f in served] == list(FAMILIES.entries())
    assert sorted(f["name"] for f in served) == list(family_names())
    for f in served:
        assert f["label"] and f["description"] and f["params"], f
        assert set(f["stage_params"]) <= set(f["params"]) and set(f["refine_steps"]) <= set(REFINE_STEPS)


# -------------------------------------------------------------------------------------------------- columns

def test_columns_are_served_and_complete(api):
    served = api.get("/api/columns").json()
    table = column_table.columns()
    assert [c["name"] for c in served] == list(table)
    assert [column_table.Column.model_validate(c) for c in served] == list(table.values())
    assert tuple(c["name"] for c in served if c["source"] == "sampled") == PARAM_NAMES  # the database's columns
    stages = column_table.stage_columns()
    for c in served:
        assert c["label"] and c["group"], c
        assert (c["stage"] is None) or 1 <= c["stage"] <= stages, c


# ------------------------------------------------------------------------------------------------- datasets

def test_datasets_are_served_and_complete(api, openapi):
    from workers.data import LOADERS  # the torch side: every entry's loader exists

    served = api.get("/api/datasets").json()
    assert [d["name"] for d in served] == list(DATASETS.entries())
    assert sorted(d["name"] for d in served) == list(dataset_names())
    assert set(typing.get_args(DatasetSpec.model_fields["name"].annotation)) == set(dataset_names())
    assert sorted(schema_enum(openapi, "DatasetSpec", "name")) == list(dataset_names())
    assert {"digits", "cifar10", "cifar100", "imagenet", "imagefolder"} <= set(dataset_names())
    for d, entry in zip(served, DATASETS, strict=True):
        assert isinstance(entry, Dataset) and d == entry.describe()
        assert d["label"] and d["help"] and d["loader"] in LOADERS, d
        assert 8 <= d["im_size"] <= 1024 and (d["classes"] is None or d["classes"] >= 2), d
        if d["needs_path"]:
            assert d["path_hint"] and d["required"], d
        if entry.mean is not None or entry.std is not None:
            assert len(entry.mean or ()) == len(entry.std or ()) == 3 and min(entry.std or ()) > 0
        if isinstance(entry, PickleBatches):
            assert entry.classes and set(entry.required) == {*entry.train_files, entry.test_file}


def test_dataset_rules_come_from_the_entry():
    with pytest.raises(ValueError, match=r"name"):
        DatasetSpec(name="mnist")
    with pytest.raises(ValueError, match=r"path\s*\n?.*takes no path"):
        DatasetSpec(name="digits", path="/data")
    with pytest.raises(ValueError, match=r"required for dataset 'cifar100' \(e\.g\. /data/cifar-100-python\)"):
        DatasetSpec(name="cifar100")
    assert dataset_sizes("cifar100") == (32, 100) and dataset_sizes("imagenet") == (224, 1000)
    assert dataset_sizes("cifar10") == (32, 10) and dataset_sizes("digits") == (32, 10)
    assert dataset_sizes("imagefolder") == UNKNOWN_DATASET_SIZES == dataset_sizes(None) == dataset_sizes("svhn")


def write_cifar100(root) -> None:
    """The cifar-100-python layout, 8 images per split (enough for a study to validate)."""
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in ("train", "test"):
        fine = rng.integers(0, 100, 8)
        batch = {b"data": rng.integers(0, 256, (8, 3072), dtype=np.uint8), b"fine_labels": fine.tolist(),
                 b"coarse_labels": (fine // 5).tolist(), b"filenames": [b"x.png"] * 8, b"batch_label": b"x"}
        with open(root / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)


def test_a_cifar100_study_validates(api, tmp_path):
    root = tmp_path / "cifar-100-python"
    write_cifar100(root)
    r = api.post("/api/studies", json={"name": "c100-study", "space": "RegNetX",
                                       "dataset": {"name": "cifar100", "path": str(root)}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["dataset"], body["num_classes"], body["im_size"]) == (
        {"name": "cifar100", "path": str(root)}, 100, 32)
    (tmp_path / "cifar-10-batches-py").mkdir()  # a CIFAR-10 folder is not a CIFAR-100 one
    r = api.post("/api/studies", json={"name": "c100-wrong", "space": "RegNetX",
                                       "dataset": {"name": "cifar100", "path": str(tmp_path / "cifar-10-batches-py")}})
    assert r.status_code == 422 and "dataset.path" in {e["field"] for e in r.json()["detail"]}, r.text
    assert "not found" in r.json()["message"] and "needs train" in r.json()["message"]


# ------------------------------------------------------------------------------------ import and export formats

def _operation(spec: dict, path: str, method: str = "get") -> dict:
    return spec["paths"][path][method]


def test_formats_are_served_and_complete(api, openapi):
    served = api.get("/api/formats").json()
    assert [f["name"] for f in served["imports"]] == list(IMPORT_FORMATS.entries())
    assert [f["name"] for f in served["exports"]] == list(EXPORT_FORMATS.entries())
    assert {"nds", "pycls-sweep", "jsonl", "csv", "json", "parquet"} == set(IMPORT_FORMATS.names())
    assert {"json", "jsonl", "csv", "pycls", "timm", "parquet"} == set(EXPORT_FORMATS.names())
    # what the API accepts is the registry: the export's format enum, the import's format pattern
    export_op = _operation(openapi, "/api/studies/{study_id}/export")
    fmt_param = next(p for p in export_op["parameters"] if p["name"] == "format")
    assert sorted(fmt_param["schema"]["enum"]) == list(EXPORT_FORMATS.names())
    assert set(export_op["responses"]["200"]["content"]) == {f.media_type for f in EXPORT_FORMATS}
    form_ref = _operation(openapi, "/api/studies/import", "post")["requestBody"]["content"]["multipart/form-data"]
    form = openapi["components"]["schemas"][form_ref["schema"]["$ref"].rsplit("/", 1)[1]]
    assert form["properties"]["format"]["pattern"] == f"^(auto|{'|'.join(IMPORT_FORMATS.names())})$"
    for f, entry in zip(served["imports"], IMPORT_FORMATS, strict=True):
        assert f == entry.describe() and f["label"] and f["help"], f
        assert type(entry).plan is not ImportFormat.plan, f"{entry.name}: no reader"
        assert type(entry).detect is not ImportFormat.detect or entry.suffixes, f"{entry.name}: never detected"
        assert all(sfx.startswith(".") and sfx == sfx.lower() for sfx in entry.suffixes), f
    for f, entry in zip(served["exports"], EXPORT_FORMATS, strict=True):
        assert f == entry.describe() and f["label"] and f["help"], f
        assert type(entry).write is not ExportFormat.write, f"{entry.name}: no writer"
        assert "/" in f["media_type"] and f["extension"] and entry.reads in ("records", "flat"), f


def test_a_parquet_export_downloads_and_imports_back(api):
    sid = api.post("/api/studies", json={"name": "pq-empty", "space": "RegNetX"}).json()["id"]
    r = api.get(f"/api/studies/{sid}/export", params={"format": "parquet"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "filter"  # 0 models: no empty file
    sid = api.post("/api/studies", json={"name": "pq-two", "space": "RegNetX", "n": 2}).json()["id"]
    r = api.get(f"/api/studies/{sid}/export", params={"format": "parquet"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.apache.parquet"
    assert 'filename="pq-two-all.parquet"' in r.headers["content-disposition"] and r.content[:4] == b"PAR1"
    assert r.headers["x-netspace-exported"] == "2" and r.headers["x-netspace-left-out"] == "0"


# ------------------------------------------------------------------------------------------------ figure kinds

def test_figure_kinds_are_served_and_complete(api, openapi):
    served = api.get("/api/figures").json()["kinds"]
    assert [k["kind"] for k in served] == list(FIGURES.entries())
    assert {"edf", "edf_normalized", "scatter", "widths", "e_fit", "complexity", "stats", "random_search", "curves",
            "importance", "lineage"} == set(FIGURES.names())
    for path in ("/api/studies/{study_id}/figures/{kind}", "/api/figures/{kind}"):
        params = _operation(openapi, path)["parameters"]
        kind = next(p for p in params if p["name"] == "kind")
        assert sorted(kind["schema"]["enum"]) == list(FIGURES.names()), path
        assert set(OPTIONS) <= {p["name"] for p in params}, path  # every option is a query parameter
    for k, entry in zip(served, FIGURES, strict=True):
        assert isinstance(entry, FigureKind) and type(entry).build is not FigureKind.build, k["kind"]
        assert k["label"] and len(k["help"]) > 40 and k["summary"] == k["help"], k["kind"]
        assert set(k["options"]) <= set(OPTIONS) and set(k["required"]) <= set(k["options"]), k["kind"]
        assert set(k["options_schema"]) == set(k["options"]), k["kind"]
        assert set(k["needs"]) <= set(typing.get_args(Need)) and set(k["pages"]) <= set(typing.get_args(Page))
        assert k["height"] >= 200 and (k["ask_above"] is None or k["ask_above"] > 0), k["kind"]
    study_page = [k["kind"] for k in served if "study" in k["pages"]]
    assert study_page[0] == "edf" and "scatter" in study_page  # the EDF loads first; the grid takes scatter's slot

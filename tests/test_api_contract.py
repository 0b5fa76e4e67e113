"""The API's documented contract: /openapi.json describes every response, and real bodies have the documented
shapes (the routes that send bodies as read, for speed, are held to their response models here)."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from conftest import finish_jobs
from pydantic import BaseModel

from backend.services import views

JSON = "application/json"
#: routes whose 2xx body is a file or a stream, documented with a media type and no JSON shape
DOWNLOADS = {("get", "/api/studies/{study_id}/export"), ("get", "/api/events")}


def test_every_response_has_a_schema(shared_sqlite_server):
    spec = shared_sqlite_server.client.get("/openapi.json").json()
    seen = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if not path.startswith("/api/"):
                continue
            codes = [c for c in op["responses"] if c.startswith("2")]
            assert codes, f"{method} {path}: no 2xx response documented"
            for code, resp in op["responses"].items():
                content = resp.get("content") or {}
                assert content, f"{method} {path} {code}: no media type documented"
                for media, body in content.items():
                    schema = body.get("schema") or {}
                    assert schema, f"{method} {path} {code} {media}: no schema"
                    if media == JSON and code.startswith("2") and (method, path) not in DOWNLOADS:
                        assert "$ref" in schema or schema.get("type") == "array", (method, path, code, schema)
                        seen += 1
    assert seen >= 25  # every JSON operation of the API (health, studies, models, jobs, figures, refine, ...)


def _model_of(tp: Any) -> type[BaseModel] | None:
    """The response model inside an annotation (X, X | None, list[X], dict[str, X]), if any."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def same_shape(model: type[BaseModel], body: Any, where: str = "") -> None:
    """`body` has exactly the keys `model` documents (no undocumented and no missing ones), recursively into
    nested response models and lists of them. Models that allow extra keys (Plotly figures) are not opened."""
    model.model_validate(body)
    if model.model_config.get("extra") == "allow":
        return
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    required = {k for k, f in fields.items() if f.is_required()}
    assert set(body) <= set(fields), f"{where or model.__name__}: undocumented keys {set(body) - set(fields)}"
    assert required <= set(body), f"{where or model.__name__}: missing keys {required - set(body)}"
    for key, value in body.items():
        inner = _model_of(fields[key].annotation)
        if inner is None or value is None:
            continue
        keyed = "dict[" in str(fields[key].annotation)  # dict[str, Model]: the values are the models
        items = value if isinstance(value, list) else list(value.values()) if keyed else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict):
                same_shape(inner, item, f"{where or model.__name__}.{key}[{i}]")


@pytest.fixture(scope="module")
def trained(shared_sqlite_server) -> dict[str, Any]:
    c = shared_sqlite_server.client
    r = c.post("/api/studies", json={"name": "contract", "space": "AnyNetX_A", "dataset": {"name": "digits"},
                                     "im_size": 32, "regime": {"flops": [None, "5M"]}, "n": 6, "seed": 1})
    assert r.status_code == 201, r.text
    study = r.json()
    finish_jobs(shared_sqlite_server.db_url, study["id"], [10.0, 12.0, 15.0, 9.0])
    return study


@pytest.mark.parametrize("url,model", [
    ("/api/health", views.Health),
    ("/api/studies/{id}", views.Study),
    ("/api/studies/{id}/models?limit=10", views.ModelPage),
    ("/api/models/{model}", views.ModelDetail),
    ("/api/jobs?study_id={id}", views.JobPage),
    ("/api/studies/{id}/population?format=json", views.PopulationColumns),
    ("/api/figures", views.FigureKinds),
    ("/api/studies/{id}/figures/edf", views.PlotlyFigure),
    ("/api/studies/{id}/lineage", views.Lineage),
    ("/api/spaces/AnyNetX_A/size", views.SizeReport),
])
def test_bodies_have_the_documented_shapes(shared_sqlite_server, trained, url, model):
    c = shared_sqlite_server.client
    first = c.get(f"/api/studies/{trained['id']}/models", params={"limit": 1}).json()["items"][0]
    r = c.get(url.format(id=trained["id"], model=first["id"]))
    assert r.status_code == 200, r.text
    same_shape(model, r.json())


def test_the_study_list_and_a_refine_preview_have_the_documented_shapes(shared_sqlite_server, trained):
    c = shared_sqlite_server.client
    for s in c.get("/api/studies").json():
        same_shape(views.Study, s)
    r = c.post(f"/api/studies/{trained['id']}/refine", json={"step": {"name": "contract-B", "share": ["b"]},
                                                              "preview": True})
    assert r.status_code == 200, r.text
    same_shape(views.RefineResult, r.json())

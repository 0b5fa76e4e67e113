"""The one calibrated CPU recipe (backend.study_spec.RECIPE_PRESETS["cpu-proxy"]) reaches every place that trains
tiny models: `netspace study --preset`, GET /api/recipes (the Queue page's Tiny preset) and the demo."""

from __future__ import annotations

import json

from conftest import run_cli

from backend.services.demo import demo_specs
from backend.study_spec import RECIPE_PRESETS, Recipe, recipe_preset


def test_cli_study_takes_the_preset_and_lets_fields_override(capsys, sqlite_url):
    code, out, err = run_cli(capsys, "study", "--db", sqlite_url, "--name", "A", "--space", "AnyNetX_A",
                             "--flops", ":5M", "--preset", "cpu-proxy", "--recipe", '{"seed": 3}', "--json")
    assert code == 0, err
    stored = json.loads(out)["recipe"]
    assert stored == {**recipe_preset("cpu-proxy").model_dump(), "seed": 3}
    code, out, err = run_cli(capsys, "study", "--db", sqlite_url, "--name", "B", "--space", "AnyNetX_A",
                             "--preset", "fast")
    assert code == 2 and err.strip().splitlines() == ["error: preset: unknown recipe preset 'fast'; allowed: "
                                                      "cpu-proxy"]


def test_api_serves_the_presets_and_the_demo_uses_cpu_proxy(shared_sqlite_server):
    got = shared_sqlite_server.client.get("/api/recipes").json()
    assert set(got["presets"]) == set(RECIPE_PRESETS)
    assert Recipe.model_validate(got["presets"]["cpu-proxy"]) == recipe_preset("cpu-proxy")
    assert all(Recipe.model_validate(s.recipe) == recipe_preset("cpu-proxy") for s in demo_specs())

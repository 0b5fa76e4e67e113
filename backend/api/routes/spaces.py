"""GET /api/spaces and /api/spaces/{name}: the built-in design spaces and their specs; GET /api/families: the
space families a spec can name (backend.designspace.families); GET /api/recipes: the named recipe presets."""

from __future__ import annotations

from fastapi import APIRouter, Path

from backend.designspace.builtin import builtin_spaces
from backend.designspace.families import FAMILIES
from backend.designspace.spec import SpaceSpec
from backend.services.errors import NotFound
from backend.services.views import RecipePresets, SpaceFamily, SpaceSummary
from backend.study_spec import RECIPE_PRESETS, recipe_preset

router = APIRouter(tags=["spaces"])


@router.get("/api/spaces")
def list_spaces() -> list[SpaceSummary]:
    return [SpaceSummary(name=sp.name, family=sp.family, description=sp.description, num_stages=sp.num_stages,
                         params=list(sp.params), im_size=sp.im_size, se_r=sp.se_r)
            for sp in builtin_spaces().values()]


@router.get("/api/spaces/{name}")
def get_space(name: str = Path(max_length=100)) -> SpaceSpec:
    spaces = builtin_spaces()
    if name not in spaces:
        raise NotFound(f"unknown space {name!r}; built-ins: {', '.join(spaces)}", "name")
    return spaces[name]


@router.get("/api/recipes")
def list_recipes() -> RecipePresets:
    """The named recipe presets (backend.study_spec.RECIPE_PRESETS), each a complete recipe: the Queue page's
    Tiny preset fills its recipe fields from "cpu-proxy", the CPU proxy calibrated on digits."""
    return RecipePresets(presets={k: recipe_preset(k) for k in RECIPE_PRESETS})


@router.get("/api/families")
def list_families() -> list[SpaceFamily]:
    """Every space family: its parameters (which are per stage), whether it can be sampled, whether its networks
    have per-block widths, and the refinement steps that apply to its spaces."""
    return [SpaceFamily.model_validate(family.describe()) for family in FAMILIES]

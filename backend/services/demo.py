"""The demo: RegNetX against AnyNetX_A on scikit-learn's digits, small enough to train on a laptop CPU.

Two studies of 24 models each in a tiny regime (<= 5 MF at 32 px), trained with the calibrated CPU proxy
recipe (backend.study_spec.RECIPE_PRESETS["cpu-proxy"], docs/proxy-recipe.md): real training that fills the
dashboard's plots within minutes on CPU, with models that learn (the earlier 3 epochs at batch 128 left
about half of them at chance). Used by the empty Studies page (POST /api/demo) and by
`netspace serve --demo`. If either demo name exists nothing is created; if the second study cannot be created
the first is deleted again, so the demo is all there or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from backend.study_spec import recipe_preset
from db.models import studies

from .errors import Conflict
from .studies import StudyIn, create_study, delete_study
from .views import DemoSeeded, DemoStudy

SPACES = ("RegNetX", "AnyNetX_A")
PREFIX = "demo "
PRESET = "cpu-proxy"
DEFAULTS = {"n": 24, "flops_max": 5e6, "im_size": 32, "seed": 0}


def demo_specs(n: int = 24) -> list[StudyIn]:
    recipe = recipe_preset(PRESET).model_dump()
    return [StudyIn(name=f"{PREFIX}{space}", space=space, dataset={"name": "digits"},
                    recipe=recipe, regime={"flops": [None, DEFAULTS["flops_max"]]},
                    im_size=DEFAULTS["im_size"], seed=DEFAULTS["seed"], n=n,
                    notes="demo: RegNetX vs AnyNetX_A on digits (netspace serve --demo)")
            for space in SPACES]


def demo_exists(engine: Engine) -> list[str]:
    names = [s.name for s in demo_specs()]
    with engine.connect() as conn:
        return list(conn.execute(select(studies.c.name).where(studies.c.name.in_(names))).scalars())


def seed_demo(engine: Engine, n: int = 24) -> DemoSeeded:
    """Create both demo studies with n queued samples each; Conflict if a demo study exists already."""
    taken = demo_exists(engine)
    if taken:
        raise Conflict(f"the demo exists already ({', '.join(taken)}); open it from the Studies page", "demo")
    made: list[dict[str, Any]] = []
    try:
        for spec in demo_specs(n):
            made.append(create_study(engine, spec))
    except Exception:
        for s in made:
            delete_study(engine, s["id"], confirm=True)
        raise
    return DemoSeeded(studies=[DemoStudy(id=s["id"], name=s["name"], queued=s["samples"]["queued"]) for s in made],
                      models=sum(s["samples"]["queued"] for s in made), epochs=recipe_preset(PRESET).epochs)

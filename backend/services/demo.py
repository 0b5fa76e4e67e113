"""The demo: RegNetX against AnyNetX_A on scikit-learn's digits, small enough to train on a laptop CPU.

Two studies of ~24 models each in a tiny regime (<= 5 MF at 32 px), a few epochs: real training that fills
the dashboard's plots within minutes on CPU. Used by the empty Studies page (POST /api/demo) and by
`netspace serve --demo`. If either demo name exists nothing is created; if the second study cannot be created
the first is deleted again, so the demo is all there or not at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from db.models import studies

from .errors import Conflict
from .studies import StudyIn, create_study, delete_study
from .views import DemoSeeded, DemoStudy

SPACES = ("RegNetX", "AnyNetX_A")
PREFIX = "demo "
DEFAULTS = {"n": 24, "epochs": 3, "flops_max": 5e6, "im_size": 32, "seed": 0}


def demo_specs(n: int = 24, epochs: int = 3) -> list[StudyIn]:
    return [StudyIn(name=f"{PREFIX}{space}", space=space, dataset={"name": "digits"},
                    recipe={"epochs": epochs, "batch_size": 128}, regime={"flops": [None, DEFAULTS["flops_max"]]},
                    im_size=DEFAULTS["im_size"], seed=DEFAULTS["seed"], n=n,
                    notes="demo: RegNetX vs AnyNetX_A on digits (netspace serve --demo)")
            for space in SPACES]


def demo_exists(engine: Engine) -> list[str]:
    names = [s.name for s in demo_specs()]
    with engine.connect() as conn:
        return list(conn.execute(select(studies.c.name).where(studies.c.name.in_(names))).scalars())


def seed_demo(engine: Engine, n: int = 24, epochs: int = 3) -> DemoSeeded:
    """Create both demo studies with n queued samples each; Conflict if a demo study exists already."""
    taken = demo_exists(engine)
    if taken:
        raise Conflict(f"the demo exists already ({', '.join(taken)}); open it from the Studies page", "demo")
    made: list[dict[str, Any]] = []
    try:
        for spec in demo_specs(n, epochs):
            made.append(create_study(engine, spec))
    except Exception:
        for s in made:
            delete_study(engine, s["id"], confirm=True)
        raise
    return DemoSeeded(studies=[DemoStudy(id=s["id"], name=s["name"], queued=s["samples"]["queued"]) for s in made],
                      models=sum(s["samples"]["queued"] for s in made), epochs=epochs)

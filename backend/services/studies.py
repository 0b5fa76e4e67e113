"""Studies: create (optionally queueing samples in the same transaction), list, read, delete.

A study fixes what every one of its models shares: the design space, the dataset, the training recipe, the
complexity regime and the resolution the complexity is measured at. `im_size` defaults to the dataset's
training resolution (32 px for digits/CIFAR), so regimes are stated at the size the models really run at.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.sampling import METRICS, Regime
from backend.designspace.spec import SpaceSpec
from backend.designspace.units import parse_count
from backend.fielderrors import InvalidField
from backend.study_spec import DatasetSpec, Recipe
from db.engine import write_tx
from db.events import append_event
from db.models import JOB_STATUSES, models, studies, utcnow

from .errors import Conflict, InvalidInput, NotFound
from .sampling import draw_samples, insert_samples, sampleability

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,199}$"


def _space_by_name(v: Any) -> Any:
    """A built-in space may be named instead of written out."""
    if isinstance(v, str):
        if v not in builtin_spaces():
            raise ValueError(f"unknown built-in space {v!r}; choose one of {', '.join(builtin_spaces())} "
                             "or give a spec object")
        return get_space(v)
    return v


def _regime_dict(v: Any) -> dict[str, list[float | None]]:
    """{"flops": [lo, hi], ...} with numbers or strings like "360M"; either side may be null."""
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ValueError("must be an object like {\"flops\": [lo, hi]}")
    out: dict[str, list[float | None]] = {}
    for key, rng in v.items():
        if key not in METRICS:
            raise ValueError(f"unknown key {key!r}; allowed: {', '.join(METRICS)}")
        if rng is None:
            continue
        if not isinstance(rng, list | tuple) or len(rng) != 2:
            raise InvalidField(key, "must be [low, high] (either may be null)")
        out[key] = [None if x is None else parse_count(x, key) for x in rng]
    return Regime.from_dict(out).as_dict()  # its errors name regime.<key>: the field this validator checks


class StudyIn(BaseModel):
    """A new study. `seed` is the study seed: the default sampling seed and the base of every job's seed."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN,
                      description="unique; letters, digits, space, _ . - (1-200 characters)")
    space: Annotated[SpaceSpec, BeforeValidator(_space_by_name)] = Field(
        description="a built-in space name (GET /api/spaces) or a spec object")
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    recipe: Recipe = Field(default_factory=Recipe)
    regime: dict[str, list[float | None]] = Field(default_factory=dict,
                                                  description='e.g. {"flops": ["360M", "400M"]}')
    im_size: int | None = Field(None, ge=8, le=1024, description="resolution for complexity (default: dataset's)")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    notes: str | None = Field(None, max_length=20_000)
    # the rule of POST /studies/{id}/samples (SamplesIn.n): at least 1 when given; leave it out for no samples yet
    n: int | None = Field(None, ge=1, description="queue this many samples right away (at least 1, at most "
                          "NETSPACE_MAX_N; leave it out to create the study without samples)")
    priority: int = Field(0, ge=-1000, le=1000, description="priority of the jobs queued with n")

    @field_validator("regime", mode="before")
    @classmethod
    def _regime(cls, v: Any) -> dict:
        return _regime_dict(v)


def create_study(engine: Engine, data: StudyIn, *, max_n: int | None = None,
                 parent_id: int | None = None) -> dict[str, Any]:
    """Create a study (and queue `data.n` samples) in one transaction; nothing is written on any error.

    `parent_id` links a refined space to the study it was derived from (services.refine)."""
    if max_n is not None and data.n is not None and data.n > max_n:
        raise InvalidInput(f"must be in [1, {max_n}] per request (NETSPACE_MAX_N), got {data.n}", "n")
    try:
        data.dataset.check_exists()
    except ValueError as e:
        raise InvalidInput.from_error(e, "path", within="dataset") from None
    im_size = data.im_size or data.dataset.default_im_size()
    num_classes = data.dataset.num_classes()
    if num_classes < 2:
        raise InvalidInput(f"dataset '{data.dataset.name}' at {data.dataset.path} has {num_classes} classes "
                           "(need >= 2 class folders under train/)", "dataset.path")
    row = {"name": data.name.strip(), "space_name": data.space.name, "space": data.space.model_dump(mode="json"),
           "dataset": data.dataset.model_dump(mode="json", exclude_none=True),
           "recipe": data.recipe.model_dump(mode="json"), "regime": data.regime, "im_size": im_size,
           "num_classes": num_classes, "seed": data.seed, "source": "sampled", "notes": data.notes,
           "parent_id": parent_id, "created_at": utcnow()}
    drawn = draw_samples(row, data.n, data.seed) if data.n else None  # before the transaction: may fail
    parent_q = select(studies.c.id).where(studies.c.id == parent_id)
    try:
        with write_tx(engine) as conn:
            if conn.execute(select(studies.c.id).where(studies.c.name == row["name"])).first():
                raise Conflict(f"a study named {row['name']!r} exists already", "name")
            if parent_id is not None and conn.execute(parent_q).first() is None:
                raise NotFound(f"parent study {parent_id} not found (deleted meanwhile?)", "study_id")
            study_id = conn.execute(insert(studies).values(**row).returning(studies.c.id)).scalar_one()
            append_event(conn, "study_created", study_id=study_id,
                         payload={"name": row["name"], **({"parent_id": parent_id} if parent_id else {})})
            queued = insert_samples(conn, study_id, drawn, data.priority) if drawn else None
    except IntegrityError:  # a concurrent request took the name between our check and insert
        raise Conflict(f"a study named {row['name']!r} exists already", "name") from None
    out = get_study(engine, study_id)
    if queued is not None:
        out["samples"] = queued
    return out


def _counts(conn: Connection, study_ids: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """Per study: models, models per status (`jobs`; imported models with a result count as done), results, best
    and mean error — from the models table's mirrors and their (study_id, status/error) indexes, so fast at 10^5."""
    by_status = select(models.c.study_id, models.c.status, func.count()).group_by(models.c.study_id, models.c.status)
    by_error = select(models.c.study_id, func.count(models.c.error), func.min(models.c.error),
                      func.avg(models.c.error)).group_by(models.c.study_id)
    if study_ids is not None:
        by_status = by_status.where(models.c.study_id.in_(study_ids))
        by_error = by_error.where(models.c.study_id.in_(study_ids))
    out: dict[int, dict[str, Any]] = {}
    for sid, status, n in conn.execute(by_status):
        c = out.setdefault(sid, _empty_counts())
        c["models"] += n
        if status in c["jobs"]:
            c["jobs"][status] = n
    for sid, n_results, best, mean in conn.execute(by_error):
        out[sid].update(results=n_results, best_error=best, mean_error=None if mean is None else float(mean))
    return out


def _empty_counts() -> dict[str, Any]:
    return {"models": 0, "results": 0, "best_error": None, "mean_error": None, "jobs": dict.fromkeys(JOB_STATUSES, 0)}


def study_dict(row: Any, counts: dict[str, Any] | None) -> dict[str, Any]:
    d = dict(row._mapping)
    d["created_at"] = d["created_at"].isoformat() + "Z"
    d["counts"] = counts or _empty_counts()
    d["sampleable"], d["native_space"], d["why_not"] = sampleability(d)
    return d


def list_studies(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(studies).order_by(studies.c.id)).all()
        counts = _counts(conn)
    return [study_dict(r, counts.get(r.id)) for r in rows]


def get_study(engine: Engine, study_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(studies).where(studies.c.id == study_id)).first()
        if row is None:
            raise NotFound(f"study {study_id} not found", "study_id")
        return study_dict(row, _counts(conn, [study_id]).get(study_id))


def find_study(engine: Engine, ref: str | int) -> dict[str, Any]:
    """A study by id or by name (for the CLI)."""
    with engine.connect() as conn:
        q = select(studies.c.id).where(studies.c.name == str(ref))
        sid = conn.execute(q).scalar()
        if sid is None and str(ref).isdigit():
            sid = conn.execute(select(studies.c.id).where(studies.c.id == int(ref))).scalar()
    if sid is None:
        raise NotFound(f"no study named {ref!r}", "study")
    return get_study(engine, sid)


def delete_study(engine: Engine, study_id: int, confirm: bool) -> dict[str, Any]:
    """Delete a study with its models, jobs and results (asks for confirm=True)."""
    study = get_study(engine, study_id)
    if not confirm:
        raise InvalidInput(f"must be true to delete study {study['name']!r} with its {study['counts']['models']} "
                           "models and their results", "confirm")
    with write_tx(engine) as conn:
        conn.execute(delete(studies).where(studies.c.id == study_id))
        append_event(conn, "study_deleted", study_id=study_id, payload={"name": study["name"]})
    return {"deleted": study_id, "name": study["name"], "models": study["counts"]["models"]}

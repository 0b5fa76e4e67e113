"""Refining a stored study into a child design space: plan, in-sample preview, then the child study.

This closes the paper's loop (sample a space, read its population, derive a constraint, refine, compare):
1. Plan. The child spec is backend.designspace.refine.refine(parent spec, step). A step's narrowings come by
   hand (`step.narrow`), from the parent's population — the bootstrap best range of a parameter
   (backend.analysis.bootstrap over every finished model of the parent, as the paper reads its §3-4
   constraints off the population) — or from a dashboard filter's ranges; narrowings of one parameter
   intersect. Derived ranges are widened to the nearest values of the parameter's law when they fall between
   two of them (a percentile can), so the child never loses the range the population pointed at.
2. Preview, before any GPU time: which of the parent's finished models already lie in the child
   (designspace.refine.satisfies; for the switch to the RegNet law, models whose per-block widths the law
   fits, e_fit <= efit_max, with d, b and g in the child's ranges), their error EDF against the parent's,
   and the child's dimension and size. The EDF of that subset is an *in-sample estimate* of the child's: the
   models were drawn from the parent's distribution, not the child's, so it is labelled as such everywhere.
3. Create: the child study, linked by parent_id, with the parent's dataset, recipe, regime, resolution and
   seed unless overridden, and n samples queued through the studies/sampling services in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, select

from backend.analysis.bootstrap import REPEATS, best_ranges
from backend.analysis.compare import ks_test
from backend.analysis.lineage import summary_or_none
from backend.analysis.minimum_n import ks_absent
from backend.designspace.families import get_family
from backend.designspace.refine import Refinement, refine, satisfies
from backend.designspace.spec import ParamSpec, SpaceSpec
from backend.figures import build_figure, to_json
from backend.study_spec import DatasetSpec
from db.models import models, studies

from .derived import fill_e_fit
from .errors import InvalidInput
from .filters import MAX_IDS, ModelFilter
from .models_query import require_study
from .population import Population, check_extra_ranges, load_population
from .spacesize import maybe_spec, size_report
from .studies import StudyIn, _space_by_name, create_study

IN_SAMPLE = "in-sample estimate"
#: e_fit at or below which the RegNet law is taken to reproduce a model's widths (mean |log ratio|, ~5%)
DEFAULT_EFIT_MAX = 0.05
#: RegNet's law parameters: judged by e_fit, not by a bound check on one of the many equivalent fits
LAW_PARAMS = ("w0", "wa", "wm")
#: the bootstrap needs trained models; with one, the best range is that model's value (the preview shows n)
MIN_BOOTSTRAP = 1


class RefineIn(BaseModel):
    """POST /api/studies/{id}/refine: one refinement step of the study's space, previewed or created."""

    model_config = ConfigDict(extra="forbid")

    step: Refinement = Field(description="the constraints; step.name is the child study's name")
    preview: bool = Field(True, description="true: only the preview; false: also create the child study")
    # the one rule of StudyIn.n and SamplesIn.n: at least 1 when given; leave it out to queue nothing yet
    n: int | None = Field(None, ge=1, description="samples of the child to queue when it is created (at least 1; "
                          "leave it out to create the child without samples)")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="child study seed (default: the parent's)")
    priority: int = Field(0, ge=-1000, le=1000, description="priority of the queued jobs")
    bestrange: list[str] = Field(default_factory=list, max_length=32,
                                 description="parameters narrowed to their bootstrap best range over the "
                                             "parent's finished models")
    filter: ModelFilter | None = Field(None, description="narrow each space parameter the filter ranges over")
    efit_max: float = Field(DEFAULT_EFIT_MAX, gt=0, le=10, description="to_regnet preview: e_fit tolerance")
    repeats: int = Field(REPEATS, ge=100, le=100_000, description="bootstrap repeats")
    bootstrap_seed: int = Field(0, ge=0, le=2**31 - 1)
    base: Annotated[SpaceSpec | None, BeforeValidator(_space_by_name)] = Field(
        None, description="space to refine when the parent has none (imported populations): a built-in name "
                          "or a spec")
    dataset: DatasetSpec | None = Field(None, description="default: the parent's")
    recipe: dict[str, Any] | None = Field(None, description="fields that differ from the parent's recipe")
    regime: dict[str, Any] | None = Field(None, description="default: the parent's regime")
    im_size: int | None = Field(None, ge=8, le=1024, description="default: the parent's (or the new dataset's)")
    notes: str | None = Field(None, max_length=20_000)


@dataclass
class Plan:
    """A refinement resolved against its parent: the effective step (derived narrowings merged in)."""

    parent: dict[str, Any]
    parent_spec: SpaceSpec
    step: Refinement
    child: SpaceSpec
    columns: dict[str, np.ndarray]  # the parent population's columns, RegNet models at their sampled values
    narrowed: dict[str, dict[str, Any]] = field(default_factory=dict)
    filter_ignored: list[str] = field(default_factory=list)


def param_columns(spec: SpaceSpec, name: str) -> list[str]:
    """Population columns of a spec parameter (its family's: RegNet's are global, d the total depth; an
    AnyNet parameter is per stage, d_1..d_S)."""
    return get_family(spec.family).param_columns(spec, name)


def sampled_columns(engine: Engine, pop: Population, spec: SpaceSpec) -> dict[str, np.ndarray]:
    """The population's columns with the *sampled* values the family keeps in the config in place of the flat
    ones (family.sampled_config_paths). RegNet's g: pycls caps a stage's group width at its inner width, so a
    RegNet model built with one g can have per-stage g_i that differ and hence a NaN flat g; its sampled g is
    config.regnet.group_w. (Its d, w0, wa, wm and b are exact already.) Read with a JSON path in SQL, so no
    config is decoded in Python."""
    cols = dict(pop.columns)
    for name, path in get_family(spec.family).sampled_config_paths.items():
        value = models.c.config[path].as_float()
        q = (select(models.c.id, value).where(models.c.study_id == pop.study_id, value.is_not(None))
             .order_by(models.c.id))
        with engine.connect() as conn:
            rows = conn.execute(q).all()
        if rows:
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            pos = np.searchsorted(pop["id"], ids)
            ok = (pos < len(pop)) & (pop["id"][np.minimum(pos, len(pop) - 1)] == ids)  # added meanwhile: skip
            cols[name] = np.array(cols[name], dtype=float)
            cols[name][pos[ok]] = np.array([r[1] for r in rows], dtype=float)[ok]
    return cols


def _snap(p: ParamSpec, lo: float, hi: float) -> tuple[float, float]:
    """[lo, hi] widened to the nearest values of the law when no value lies inside it."""
    if p.is_grid():  # closed form (a grid may hold up to MAX_LEVELS values)
        first, last = p.grid_span(lo - 1e-12, hi + 1e-12)
        if first <= last:
            return lo, hi
        n = p.count()
        return p.grid_value(min(max(last, 0), n - 1)), p.grid_value(max(min(first, n - 1), 0))
    sup = np.asarray(p.support())
    if ((sup >= lo - 1e-12) & (sup <= hi + 1e-12)).any():
        return lo, hi
    below, above = sup[sup <= lo], sup[sup >= hi]
    return (float(below[-1]) if len(below) else float(sup[0])), (float(above[0]) if len(above) else float(sup[-1]))


def _bestranges(spec: SpaceSpec, pop: Population, columns: dict[str, np.ndarray], names: list[str], repeats: int,
                seed: int) -> dict[str, dict[str, Any]]:
    """Bootstrap best range per parameter; an AnyNet stage parameter gets the hull of its stages' ranges."""
    unknown = [k for k in names if k not in spec.params]
    if unknown:
        raise InvalidInput(f"unknown parameter {unknown[0]!r}; the space has {list(spec.params)}", "bestrange")
    finished = pop.with_results()
    if finished.sum() < MIN_BOOTSTRAP:
        raise InvalidInput(f"the parent has {int(finished.sum())} finished models; the bootstrap needs at least "
                           f"{MIN_BOOTSTRAP}", "bestrange")
    cols = {c: columns[c] for k in names for c in param_columns(spec, k)}
    ranges = best_ranges(pop["error"], cols, repeats=repeats, seed=seed)
    out = {}
    for k in names:
        rs = [ranges[c] for c in param_columns(spec, k)]
        los, his = np.array([r.lo for r in rs]), np.array([r.hi for r in rs])
        if not (np.isfinite(los).any() and np.isfinite(his).any()):
            raise InvalidInput(f"no finished model of the parent has a value for {k!r}", "bestrange")
        lo, hi = np.nanmin(los), np.nanmax(his)
        out[k] = {"low": float(lo), "high": float(hi), "median": [r.median for r in rs], "n": rs[0].n,
                  "repeats": repeats, "columns": param_columns(spec, k)}
    return out


def _filter_ranges(spec: SpaceSpec, flt: ModelFilter) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """The filter's ranges over columns that *are* a space parameter (family.filter_params; RegNet: d, w0, wa, wm,
    g, b; AnyNet: the shared g and b); every other filter key (complexity, error, status, per-stage columns) is
    listed as ignored.
    """
    usable = set(get_family(spec.family).filter_params(spec))
    ranges: dict[str, tuple[float, float]] = {}
    ignored = []
    for key, value in flt.active().items():
        name, _, side = key.rpartition("_")
        if side not in ("min", "max") or name not in usable:
            ignored.append(key)
            continue
        lo, hi = ranges.get(name, spec.params[name].bounds())
        ranges[name] = (max(lo, value), hi) if side == "min" else (lo, min(hi, value))
    if not ranges:
        raise InvalidInput(f"none of its ranges is a parameter of space {spec.name!r} (usable: "
                           f"{sorted(k + '_min/_max' for k in usable)}); got {sorted(flt.active())}", "filter")
    return ranges, ignored


def _parent_spec(parent: dict[str, Any], req: RefineIn) -> SpaceSpec:
    if req.base is not None:
        return req.base
    spec = maybe_spec(parent["space"])
    if spec is None:
        raise InvalidInput(f"study {parent['name']!r} has no design-space spec (an imported population); give "
                           "`base`, the built-in space or spec to refine from", "base")
    return spec


def _narrowed_space(spec: SpaceSpec, step: Refinement) -> SpaceSpec:
    """The space whose parameters a step narrows: the parent's, or after the switch to the RegNet law the
    law's (d is then the total depth, g and b the shared values)."""
    if not step.to_regnet:
        return spec
    try:
        return refine(spec, Refinement(name=step.name, to_regnet=True))
    except ValueError as e:
        raise InvalidInput.from_error(e, "to_regnet", within="step") from None


def plan_refinement(engine: Engine, study_id: int, req: RefineIn) -> tuple[Plan, Population]:
    """Resolve `req` against the stored parent and its population (every model, with configs for e_fit)."""
    with engine.connect() as conn:
        parent = require_study(conn, study_id)
    spec = _parent_spec(parent, req)
    target = _narrowed_space(spec, req.step)
    if req.filter is not None:
        try:  # a range on a column the parent does not have is a typo, named as the filter's field
            check_extra_ranges(engine, [study_id], req.filter)
        except InvalidInput as e:
            raise InvalidInput.of(err.within("filter") for err in e.errors) from e
    if req.step.to_regnet:
        fill_e_fit(engine, study_id)  # e_fit of every model, stored once
    pop = load_population(engine, study_id)
    columns = sampled_columns(engine, pop, target)
    sources: dict[str, list[tuple[float, float, str]]] = {}
    narrowed: dict[str, dict[str, Any]] = {}
    for k, (lo, hi) in req.step.narrow.items():
        sources.setdefault(k, []).append((lo, hi, "hand"))
    derived: dict[str, list[tuple[float, float, str]]] = {}
    if req.bestrange:
        for k, info in _bestranges(target, pop, columns, req.bestrange, req.repeats, req.bootstrap_seed).items():
            derived.setdefault(k, []).append((info["low"], info["high"], "bestrange"))
            narrowed.setdefault(k, {})["bestrange"] = info
    ignored: list[str] = []
    if req.filter is not None:
        ranges, ignored = _filter_ranges(target, req.filter)
        for k, (lo, hi) in ranges.items():
            derived.setdefault(k, []).append((lo, hi, "filter"))
    for k, items in derived.items():
        if k in target.params:  # unknown names fail in refine() below, naming the field
            items = [(*_snap(target.params[k], lo, hi), src) for lo, hi, src in items]
        sources.setdefault(k, []).extend(items)
    merged: dict[str, tuple[float, float]] = {}
    for k, items in sources.items():
        lo, hi = max(x[0] for x in items), min(x[1] for x in items)
        if lo > hi:
            raise InvalidInput(f"the ranges from {', '.join(x[2] for x in items)} do not overlap: "
                               + ", ".join(f"[{a:g}, {b:g}] ({s})" for a, b, s in items), f"step.narrow.{k}")
        narrowed.setdefault(k, {}).update(low=lo, high=hi, sources=[x[2] for x in items])
        p = target.params.get(k)
        if p is not None and lo <= p.bounds()[0] and hi >= p.bounds()[1]:
            narrowed[k]["unchanged"] = True  # the range holds every value already: not a constraint
            continue
        merged[k] = (lo, hi)
    step = req.step.model_copy(update={"narrow": merged})
    try:
        child = refine(spec, step)
    except ValueError as e:
        raise InvalidInput.from_error(e, "step", within="step") from None
    return Plan(parent, spec, step, child, columns, narrowed, ignored), pop


def in_sample_mask(plan: Plan, pop: Population, efit_max: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Which parent models lie in the child (all models, finished or not), and their e_fit for to_regnet."""
    cols = plan.columns
    if not plan.step.to_regnet:
        return satisfies(plan.child, cols), None
    e_fit = pop["e_fit"]
    n = len(pop)
    law = {k: np.full(n, plan.child.params[k].bounds()[0]) for k in LAW_PARAMS}
    return satisfies(plan.child, {**cols, **law}) & (e_fit <= efit_max), e_fit


def preview(engine: Engine, plan: Plan, pop: Population, efit_max: float) -> dict[str, Any]:
    """The preview document (see the module doc); nothing is written."""
    inside, e_fit = in_sample_mask(plan, pop, efit_max)
    finished = pop.with_results()
    err = pop["error"]
    parent_label = f"{plan.parent['name']} (parent)"
    child_label = f"{plan.step.name} ({IN_SAMPLE})"
    p_stats, c_stats = summary_or_none(err[finished]), summary_or_none(err[finished & inside])
    ks, p_value = ks_test(err[finished], err[finished & inside]) if p_stats and c_stats else (None, None)
    # the p-value only from minimum_n.KS per side (the parent's finished models against those it keeps)
    p_absent = (ks_absent(p_stats.n, c_stats.n) if p_stats and c_stats
                else "KS omitted: no finished parent model lies in the child")
    fig = build_figure("edf", {parent_label: {"error": err[finished]}, child_label: {"error": err[finished & inside]}})
    fig.update_layout(title=f"Preview of {plan.step.name}: parent models inside the child ({IN_SAMPLE}; "
                            f"{(fig.layout.meta or {}).get('note', 'n=0')})")
    ids = pop["id"][finished & inside]
    with engine.connect() as conn:
        taken = conn.execute(select(studies.c.id).where(studies.c.name == plan.step.name)).first() is not None
    return {
        "label": IN_SAMPLE,
        "parent": {"id": plan.parent["id"], "name": plan.parent["name"], "space_name": plan.parent_spec.name,
                   "size": size_report(plan.parent_spec)},
        "child": {"name": plan.step.name, "constraint": plan.step.describe(), "space": plan.child.model_dump(
            mode="json"), "size": size_report(plan.child), "name_available": not taken},
        "step": plan.step.model_dump(mode="json"),
        "narrowed": plan.narrowed,
        "filter_ignored": plan.filter_ignored,
        "in_sample": {
            "label": IN_SAMPLE, "method": "e_fit" if plan.step.to_regnet else "satisfies",
            "efit_max": efit_max if plan.step.to_regnet else None,
            "models": len(pop), "finished": int(finished.sum()), "inside": int(inside.sum()),
            "inside_finished": int((finished & inside).sum()),
            "fraction": float((finished & inside).sum() / finished.sum()) if finished.any() else None,
            "parent_stats": p_stats.as_dict() if p_stats else None,
            "child_stats": c_stats.as_dict() if c_stats else None, "ks": ks,
            "p_value": None if p_absent else p_value, "ks_absent": p_absent,
            "ids": [int(i) for i in ids[:MAX_IDS]], "ids_truncated": len(ids) > MAX_IDS,
            "e_fit_median": float(np.nanmedian(e_fit)) if e_fit is not None and np.isfinite(e_fit).any() else None,
        },
        "figure": json.loads(to_json(fig)),
    }


def _child_in(plan: Plan, req: RefineIn) -> StudyIn:
    """The child's StudyIn: the parent's settings with the request's overrides, validated as POST /studies."""
    parent = plan.parent
    dataset = req.dataset.model_dump(mode="json", exclude_none=True) if req.dataset else parent["dataset"]
    same_data = req.dataset is None or dataset == parent["dataset"]
    data = {"name": plan.step.name, "space": plan.child.model_dump(mode="json"), "dataset": dataset,
            "recipe": {**parent["recipe"], **(req.recipe or {})},
            "regime": parent["regime"] if req.regime is None else req.regime,
            "im_size": req.im_size or (parent["im_size"] if same_data else None),
            "seed": parent["seed"] if req.seed is None else req.seed,
            "notes": req.notes if req.notes is not None else f"refined from {parent['name']}: "
                                                              f"{plan.step.describe()}",
            "n": req.n or None, "priority": req.priority}
    try:
        return StudyIn.model_validate(data)
    except ValidationError as e:
        raise InvalidInput.from_error(e, "body") from None


def refine_study(engine: Engine, study_id: int, req: RefineIn, *, max_n: int | None = None) -> dict[str, Any]:
    """Preview a refinement of study `study_id`; with req.preview false, also create the child study (and
    queue req.n samples) linked to it. Returns {"preview": ..., "study": child or None}."""
    plan, pop = plan_refinement(engine, study_id, req)
    out: dict[str, Any] = {"preview": preview(engine, plan, pop, req.efit_max), "study": None}
    if not req.preview:
        child = _child_in(plan, req)
        out["study"] = create_study(engine, child, max_n=max_n, parent_id=study_id)
    return out


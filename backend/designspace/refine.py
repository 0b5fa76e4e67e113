"""Refining a design space: derive a child spec from a parent by the paper's kinds of constraint.

The paper's loop (AnyNetX_A -> B -> C -> D -> E -> RegNet) applies, one step at a time: narrowing a
parameter's range (e.g. to its bootstrap best range), sharing a per-stage parameter across stages
(b_i = b), a monotone constraint (w_{i+1} >= w_i), fixing a value, or switching to the quantized linear
law. `refine` returns the child as an ordinary validated SpaceSpec; `satisfies` says which models of a
population (flat parameter columns) already lie in the child, for the in-sample preview.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.fielderrors import InvalidField

from .builtin import get_space
from .families import get_family
from .spec import ParamSpec, SpaceSpec

#: the family the switch to the quantized linear law leads to, and the built-in space its law ranges come from
LAW_FAMILY, LAW_SPACE = "regnet", "RegNetX"


class Refinement(BaseModel):
    """One refinement step; any mix of the constraint kinds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    narrow: dict[str, tuple[float, float]] = Field(default_factory=dict, description="param -> [low, high]")
    share: list[str] = Field(default_factory=list, description="stage params made shared")
    monotone: list[str] = Field(default_factory=list, description="stage params made non-decreasing")
    fix: dict[str, float] = Field(default_factory=dict, description="param -> value")
    to_regnet: bool = Field(default=False, description="switch an AnyNet space to the quantized linear law")

    @model_validator(mode="after")
    def _ranges(self) -> Refinement:
        for k, (lo, hi) in self.narrow.items():
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise InvalidField(f"narrow.{k}", f"need finite low <= high (got [{lo}, {hi}])")
        return self

    def describe(self) -> str:
        parts = []
        parts += [f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in self.narrow.items()]
        parts += [f"shared {k} ({k}_i = {k})" for k in self.share]
        parts += [f"{k}_(i+1) >= {k}_i" for k in self.monotone]
        parts += [f"{k} = {v:g}" for k, v in self.fix.items()]
        if self.to_regnet:
            parts.append("quantized linear widths (RegNet law)")
        return "; ".join(parts) or "no change"


def _narrow_param(p: ParamSpec, lo: float, hi: float, where: str) -> ParamSpec:
    if p.is_grid():  # closed form: a grid law may hold up to MAX_LEVELS values
        first, last = p.grid_span(lo - 1e-12, hi + 1e-12)
        support = [p.grid_value(first), p.grid_value(last)] if first < last else (
            [p.grid_value(first)] if first == last else [])
    else:
        support = [v for v in p.support() if lo - 1e-12 <= v <= hi + 1e-12]
    if not support:
        low, high = p.bounds()
        raise InvalidField(where, f"[{lo:g}, {hi:g}] holds none of the parent's values ({low:g} .. {high:g})")
    data = p.model_dump()
    if len(support) == 1:
        data.update(law="fixed", value=support[0], values=None, low=None, high=None, q=None)
    elif p.law == "choice":
        data.update(values=support)
    elif p.law in ("uniform", "log_uniform"):
        data.update(low=min(support), high=max(support))
    else:  # power-of-two laws: keep the law's values explicitly
        data.update(law="choice", values=support, low=None, high=None, q=None)
    return ParamSpec.model_validate(data)


def refine(parent: SpaceSpec, step: Refinement) -> SpaceSpec:
    """The child spec; raises ValueError naming the field when a step does not apply to the parent."""
    if step.to_regnet:
        if "to_regnet" not in get_family(parent.family).refine_steps:
            raise InvalidField("to_regnet", "the parent already follows the RegNet law" if parent.family == LAW_FAMILY
                             else f"to_regnet: a {parent.family} space cannot switch to the RegNet law")
        base = get_space(LAW_SPACE).model_dump()
        params = base["params"]
        # b and g keep the parent's choices (the paper: "b and g as in AnyNetX")
        for k in ("b", "g"):
            params[k] = {**parent.params[k].model_dump(), "shared": False, "monotone": False}
        data = {**parent.model_dump(), "family": LAW_FAMILY, "params": params}
    else:
        data = parent.model_dump()
    data["name"] = step.name
    data["description"] = f"{parent.name} + {step.describe()}"
    params = data["params"]
    family = get_family(data["family"])
    for k in step.share + step.monotone:
        if k not in family.stage_params:
            raise InvalidField(f"share/monotone.{k}", f"only stage parameters {list(family.stage_params)} apply "
                             f"({family.label})")
    for k in step.share:
        params[k]["shared"] = True
    for k in step.monotone:
        params[k]["monotone"] = True
    for k, (lo, hi) in step.narrow.items():
        if k not in params:
            raise InvalidField(f"narrow.{k}", f"unknown parameter; the space has {list(params)}")
        params[k] = _narrow_param(ParamSpec.model_validate(params[k]), lo, hi, f"narrow.{k}").model_dump()
    for k, v in step.fix.items():
        if k not in params:
            raise InvalidField(f"fix.{k}", f"unknown parameter; the space has {list(params)}")
        old = ParamSpec.model_validate(params[k])
        if not old.contains(v):
            raise InvalidField(f"fix.{k}", f"{v:g} is not a value of the parent's law")
        params[k] = {"law": "fixed", "value": v, "shared": old.shared, "monotone": False}
    return SpaceSpec.model_validate(data)


def satisfies(child: SpaceSpec, pop: dict[str, np.ndarray]) -> np.ndarray:
    """Which models of a population (flat columns d_i, w_i, ... or d, w0, ...) lie inside `child`.

    Each parameter is read from the columns its family keeps it in (family.param_columns: d_1..d_S for a
    stage parameter, d for a global one). Stored per-stage values are the built networks' (after pycls's
    width/group adjustment), so this is an in-sample estimate of membership, not a re-derivation of each
    model's sampled coordinates.
    """
    n = len(next(iter(pop.values()))) if pop else 0
    ok = np.ones(n, dtype=bool)
    family = get_family(child.family)
    for k, p in child.params.items():
        cols = [np.asarray(pop.get(c, np.full(n, np.nan)), dtype=float) for c in family.param_columns(child, k)]
        stack = np.column_stack(cols) if cols else np.zeros((n, 0))
        for i in range(stack.shape[1]):
            ok &= _in_support(stack[:, i], p, exact=k == "b")
        if p.shared:
            ok &= np.all(stack == stack[:, :1], axis=1)
        if p.monotone:
            ok &= np.all(np.diff(stack, axis=1) >= 0, axis=1)
    return ok


def _in_support(vals: np.ndarray, p: ParamSpec, exact: bool) -> np.ndarray:
    """Within the law's bounds; with `exact`, also one of its values. Widths and group widths are checked
    by bounds only: pycls's adjustment moves them off the sampling grid (g capped to the inner width)."""
    lo, hi = p.bounds()
    inside = (vals >= lo - 1e-9) & (vals <= hi + 1e-9)
    if exact and p.law in ("choice", "fixed"):
        inside &= np.isin(np.round(vals, 9), np.round(np.asarray(p.support()), 9))
    kept: np.ndarray = inside & np.isfinite(vals)
    return kept

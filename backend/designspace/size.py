"""Dimension and size of a design space (the paper's Table 1), exact and as the paper approximates it.

Dimension = number of free parameters: a per-stage AnyNet parameter counts once per stage, a shared one
once, a fixed one (a single possible value) not at all. Size = number of distinct parameter settings
the sampler can produce, counted on each law's support at its quantization (in closed form, ParamSpec.count: a
spec's grid is never listed to be counted):
- per-stage parameter with m values over S stages: m^S; shared: m;
- monotone (non-decreasing) over S stages: C(m + S - 1, S) exactly. The paper divides m^S by S! instead,
  which ignores ties; both are reported;
- a global parameter (one value per model, e.g. RegNet's d, w0, wa, wm): m.
Which parameters are per stage and which are continuous is the family's (families/). RegNet's 4-stage rule
is not applied to the count (it is a filter at sampling time); the paper's RegNet row (~64^4 * 6 * 3) rounds
the family's continuous parameters (d, w0, wa, wm) to about 64 levels each, which `paper_levels` reproduces.
Choices that are no spec parameter (a NAS cell's genotype) are the family's `structure_counts`, rule "structure".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .families import get_family
from .spec import SpaceSpec


@dataclass
class ParamCount:
    values: int
    count: int
    rule: str  # "per-stage", "shared", "monotone", "global", "fixed"
    free: int  # contribution to the dimension


@dataclass
class SpaceSize:
    dimension: int
    exact: int
    paper_approx: float
    params: dict[str, ParamCount] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "exact": self.exact, "exact_float": float(self.exact),
                "paper_approx": self.paper_approx,
                "params": {k: vars(v) for k, v in self.params.items()}}


def space_size(spec: SpaceSpec, paper_levels: int | None = None) -> SpaceSize:
    """Count a spec; with `paper_levels`, continuous RegNet parameters count as that many levels."""
    s = spec.num_stages
    family = get_family(spec.family)
    counts: dict[str, ParamCount] = {}
    exact = 1
    approx = 1.0
    for name, p in spec.params.items():
        m = p.count()
        if paper_levels and name in family.continuous_params:
            m = paper_levels
        if m == 1:
            pc = ParamCount(1, 1, "fixed", 0)
            a = 1.0
        elif name not in family.stage_params:
            pc = ParamCount(m, m, "global", 1)
            a = float(m)
        elif p.shared:
            pc = ParamCount(m, m, "shared", 1)
            a = float(m)
        elif p.monotone:
            pc = ParamCount(m, math.comb(m + s - 1, s), "monotone", s)
            a = float(m) ** s / math.factorial(s)
        else:
            pc = ParamCount(m, m**s, "per-stage", s)
            a = float(m) ** s
        counts[name] = pc
        exact *= pc.count
        approx *= a
    for name, (values, settings, free) in family.structure_counts(spec).items():
        counts[name] = ParamCount(values, settings, "structure", free)
        exact *= settings
        approx *= float(settings)
    return SpaceSize(sum(c.free for c in counts.values()), exact, approx, counts)

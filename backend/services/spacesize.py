"""A design space's dimension and size as the API, the CLI and the lineage view report them.

Both counts of backend.designspace.size are given: the exact number of distinct configurations (monotone
stages counted as non-decreasing tuples) and the paper's Table 1 approximation (m^S / S! for monotone
stages; RegNet's continuous d, w0, wa, wm at ~64 levels each). The exact count is also sent as a decimal
string, because it can exceed 2^53 (AnyNetX_A has ~1.8e18 configurations) and JSON readers such as
JavaScript would round it silently.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from backend.designspace.families import family_names, get_family
from backend.designspace.size import space_size
from backend.designspace.spec import SpaceSpec

_SAFE_INT = 2**53


def _json_int(x: int) -> int | float:
    """An int JSON readers keep exactly, else its float."""
    return x if abs(x) < _SAFE_INT else float(x)


def size_report(spec: SpaceSpec, paper_levels: int | None = None) -> dict[str, Any]:
    """{name, family, dimension, exact (str), exact_float, paper_approx, paper_levels, params{...}}.

    `paper_levels` defaults to the family's (RegNet: 64, the paper's rounding of its continuous parameters;
    None for AnyNet, whose counts are already discrete). Counting is closed form (ParamSpec.count); the report
    is still cached per spec, as previews and lineages ask for the same few specs again and again.
    """
    return copy.deepcopy(_size_report(spec.model_dump_json(), paper_levels))


@functools.lru_cache(maxsize=1024)
def _size_report(spec_json: str, paper_levels: int | None) -> dict[str, Any]:
    spec = SpaceSpec.model_validate_json(spec_json)
    family = get_family(spec.family)
    levels = paper_levels if paper_levels is not None else family.paper_levels
    exact = space_size(spec)
    paper = space_size(spec, paper_levels=levels) if levels else exact
    params = {k: {"values": _json_int(c.values), "count": _json_int(c.count), "rule": c.rule, "free": c.free}
              for k, c in exact.params.items()}
    return {"name": spec.name, "family": spec.family, "dimension": exact.dimension, "exact": str(exact.exact),
            "exact_float": float(exact.exact), "paper_approx": paper.paper_approx,
            "paper_levels": levels if family.continuous_params else None, "params": params}


def maybe_spec(data: Any) -> SpaceSpec | None:
    """The stored spec as a SpaceSpec, or None for studies without one (imported populations)."""
    if not isinstance(data, dict) or data.get("family") not in family_names():
        return None
    try:
        return SpaceSpec.model_validate(data)
    except ValueError:
        return None

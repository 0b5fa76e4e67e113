"""The built-in design spaces, loaded from the YAML specs shipped beside this module."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .spec import SpaceSpec, parse_space

SPACES_DIR = Path(__file__).with_name("spaces")
#: display order: the paper's refinement chain, then RegNet
ORDER = ("AnyNetX_A", "AnyNetX_B", "AnyNetX_C", "AnyNetX_D", "AnyNetX_E", "RegNetX", "RegNetY",
         "RegNetX_constrained")


@cache
def builtin_spaces() -> dict[str, SpaceSpec]:
    found = {p.stem: parse_space(p.read_text()) for p in SPACES_DIR.glob("*.yaml")}
    return {k: found[k] for k in sorted(found, key=lambda k: (ORDER.index(k) if k in ORDER else 99, k))}


def get_space(name: str) -> SpaceSpec:
    spaces = builtin_spaces()
    if name not in spaces:
        raise KeyError(f"space: unknown built-in {name!r}; choose one of {', '.join(spaces)}")
    return spaces[name]

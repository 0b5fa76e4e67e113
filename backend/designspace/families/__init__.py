"""Space families: one module per family (AnyNet, RegNet, ...), each defining `FAMILY`.

A family is what a spec's `family:` names. Its entry owns everything that differs between families, so the
sampler, the size count, refinement, the refine service, the lineage view and the API never branch on a
family's name:

- `params`: the spec parameters it needs; `stage_params`: those with one value per stage (population columns
  `p_1..p_S`, where `shared` and `monotone` apply); the others are global (one column `p`);
- `propose`: seeded candidate draws as a `Batch` (when `samplable`), `exact`: an optional exact re-check of
  the survivors, `config`: one row's canonical config (`arch_type` names the config type, which is also the
  torch builder's key in workers/);
- the size rule's inputs (`continuous_params`, counted at `paper_levels` levels in the paper's approximation);
- which refinement steps apply (`refine_steps`), and where a sampled value is kept in the config when the
  flat column holds the built network's (`sampled_config_paths`);
- `per_block_widths`: whether its networks have per-block widths (width curves and e_fit apply). Cell-based
  families (NDS's NASNet, DARTS, ...) have none, and may have no sampler (`samplable = False`).

Adding a family is one module here (plus its spec YAMLs in spaces/ and its tests); see DEVELOPERS.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from backend.fielderrors import InvalidField
from backend.registry import Registry

from ..batch import Batch, anynet_config, anynet_dicts

if TYPE_CHECKING:
    from ..config import AnyNetConfig
    from ..spec import SpaceSpec

#: every refinement step kind (backend.designspace.refine.Refinement's fields)
REFINE_STEPS = ("narrow", "fix", "share", "monotone", "to_regnet")


class Family:
    """A space family (see the module doc); subclass it in one module of this package as `FAMILY`."""

    name: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str]
    order: ClassVar[int] = 50
    params: ClassVar[tuple[str, ...]]
    stage_params: ClassVar[tuple[str, ...]] = ()
    #: stage parameters whose value, when shared by all stages, also has a global population column
    shared_columns: ClassVar[tuple[str, ...]] = ()
    per_block_widths: ClassVar[bool] = True
    samplable: ClassVar[bool] = True
    arch_type: ClassVar[str] = "anynet"
    continuous_params: ClassVar[tuple[str, ...]] = ()
    paper_levels: ClassVar[int | None] = None
    refine_steps: ClassVar[frozenset[str]] = frozenset({"narrow", "fix"})
    sampled_config_paths: ClassVar[dict[str, tuple[str, ...]]] = {}

    def propose(self, space: SpaceSpec, rng: np.random.Generator, size: int) -> Batch:
        """`size` candidates drawn from `rng`, structurally valid ones kept (the same draws on every machine)."""
        raise InvalidField("family", f"{self.name} spaces cannot be sampled (imported populations only)")

    def exact(self, batch: Batch) -> np.ndarray | None:
        """Rows that pass an exact re-check the fast proposal may get wrong at float boundaries (None: all)."""
        return None

    def config(self, space: SpaceSpec, batch: Batch, i: int) -> AnyNetConfig:
        """Row i of a proposed batch as its canonical config."""
        return anynet_config(space, batch, i)

    def config_dicts(self, space: SpaceSpec, batch: Batch) -> list[dict[str, Any]]:
        """Every row's canonical config as its JSON dict (what config(...).model_dump gives), at once."""
        return anynet_dicts(space, batch)

    def param_columns(self, space: SpaceSpec, name: str) -> list[str]:
        """The population columns that hold spec parameter `name` (p_1..p_S for a stage parameter)."""
        if name in self.stage_params:
            return [f"{name}_{i}" for i in range(1, space.num_stages + 1)]
        return [name]

    def filter_params(self, space: SpaceSpec) -> list[str]:
        """Spec parameters a dashboard filter range can narrow: those with one global column."""
        return [k for k in space.params if k not in self.stage_params or k in self.shared_columns]

    def check_spec(self, space: SpaceSpec) -> None:
        """Raise ValueError naming the field when `space` does not fit this family."""
        missing = [k for k in self.params if k not in space.params]
        unknown = [k for k in space.params if k not in self.params]
        if missing:
            raise InvalidField("params", f"{self.name} spaces need {list(self.params)}; missing {missing}")
        if unknown:
            raise InvalidField("params", f"unknown {unknown}; allowed for {self.name}: {list(self.params)}")
        for k, p in space.params.items():
            if (p.shared or p.monotone) and k not in self.stage_params:
                raise InvalidField(f"params.{k}", f"shared/monotone apply to per-stage parameters only "
                                 f"({', '.join(self.stage_params) or f'{self.name} has none'})")

    def describe(self) -> dict[str, Any]:
        """What GET /api/families tells the dashboard."""
        return {"name": self.name, "label": self.label, "description": self.description,
                "params": list(self.params), "stage_params": list(self.stage_params),
                "per_block_widths": self.per_block_widths, "samplable": self.samplable, "arch_type": self.arch_type,
                "refine_steps": [s for s in REFINE_STEPS if s in self.refine_steps]}


FAMILIES: Registry[Family] = Registry(__name__, "FAMILY", "space family", "family")


def get_family(name: str) -> Family:
    """The family called `name`; an unknown name raises a ValueError listing the families."""
    return FAMILIES.get(name)


def family_names() -> tuple[str, ...]:
    """Every family's name, without importing the families (for the spec's Literal)."""
    return FAMILIES.names()

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
  families (NDS's NASNet, DARTS, ...) have none;
- `options`: the family's own spec settings beside its parameters (`SpaceSpec.options`; nds_cell's `cell`), each
  a short list of allowed values, checked by `check_spec` (a bad one is a 422 naming `options.<name>`);
- a family whose networks are no AnyNet samples whole records itself (`sample_records`, `model_row`): the
  sampler hands it the seed and the regime instead of running the AnyNet batch loop over `propose`.

Adding a family is one module here (plus its spec YAMLs in spaces/ and its tests); see DEVELOPERS.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from backend.fielderrors import InvalidField
from backend.registry import Registry

from ..batch import Batch, Records, anynet_config, anynet_dicts

if TYPE_CHECKING:
    from ..config import AnyNetConfig
    from ..sampling import Regime
    from ..spec import SpaceSpec

#: every refinement step kind (backend.designspace.refine.Refinement's fields)
REFINE_STEPS = ("narrow", "fix", "share", "monotone", "to_regnet")


@dataclass(frozen=True)
class FamilyOption:
    """A family's own spec setting (`SpaceSpec.options[name]`): one of `values`; `default` None = required."""

    name: str
    help: str
    values: tuple[str, ...]
    default: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "help": self.help, "values": list(self.values), "default": self.default}


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
    options: ClassVar[tuple[FamilyOption, ...]] = ()
    #: what a study of the family stores per model beside `flops`/`params`/`acts` (the dashboard's columns)
    columns: ClassVar[tuple[str, ...]] = ()

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

    def sample_records(self, space: SpaceSpec, n: int, seed: int, regime: Regime, *, im_size: int,
                       num_classes: int, max_candidates: int) -> Records | None:
        """n distinct models as finished records, for a family that samples whole networks itself; None (the
        default): the sampler runs its AnyNet batch loop over `propose`. Raises InvalidField naming the field."""
        return None

    def model_row(self, space: SpaceSpec, record: dict[str, Any]) -> dict[str, Any]:
        """One of `sample_records`'s records as what a study stores: config, arch_type, flops, params, acts,
        `columns` (models columns) and `extra` (the model's further values)."""
        raise NotImplementedError(f"{self.name} samples AnyNet batches (propose), not records")

    def structure_counts(self, space: SpaceSpec) -> dict[str, tuple[int, int, int]]:
        """Choices a model makes beyond the spec's parameters, for the space's size (size.space_size): name ->
        (values per choice, distinct settings, free choices). None for the AnyNet families; a NAS cell's genotype
        for nds_cell, without which a cell space would count only its widths and depths."""
        return {}

    def option(self, space: SpaceSpec, name: str) -> str:
        """The spec's value of option `name`, or its default."""
        opt = next(o for o in self.options if o.name == name)
        value = space.options.get(name, opt.default)
        if value is None:  # check_spec refuses a spec without a required option
            raise InvalidField(f"options.{name}", "required", ", ".join(opt.values))
        return value

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
        known = {o.name: o for o in self.options}
        for k, v in space.options.items():
            if k not in known:
                raise InvalidField(f"options.{k}", f"{self.name} spaces have no option {k!r}",
                                   ", ".join(known) or "none")
            if v not in known[k].values:
                raise InvalidField(f"options.{k}", f"must be one of {', '.join(known[k].values)} (got {v!r})",
                                   ", ".join(known[k].values))
        for o in self.options:
            if o.default is None and o.name not in space.options:
                raise InvalidField(f"options.{o.name}", f"{self.name} spaces need it: {o.help}", ", ".join(o.values))

    def describe(self) -> dict[str, Any]:
        """What GET /api/families tells the dashboard."""
        return {"name": self.name, "label": self.label, "description": self.description,
                "params": list(self.params), "stage_params": list(self.stage_params),
                "per_block_widths": self.per_block_widths, "samplable": self.samplable, "arch_type": self.arch_type,
                "refine_steps": [s for s in REFINE_STEPS if s in self.refine_steps],
                "options": [o.describe() for o in self.options], "columns": list(self.columns)}


FAMILIES: Registry[Family] = Registry(__name__, "FAMILY", "space family", "family")


def get_family(name: str) -> Family:
    """The family called `name`; an unknown name raises a ValueError listing the families."""
    return FAMILIES.get(name)


def family_names() -> tuple[str, ...]:
    """Every family's name, without importing the families (for the spec's Literal)."""
    return FAMILIES.names()

"""NDS's NAS cell spaces (DARTS, NASNet, PNAS, ENAS, Amoeba) as a space family: width, depth and a genotype.

A cell network is no AnyNet (no stages of blocks), so this family samples whole records itself
(`sample_records`, through cell_spaces.sample_cells) instead of AnyNet stage arrays. The spec's `options.cell`
picks the cell space (its operations, node count and concat rule: cell_spaces.CELL_SPACES); its parameters are
the width `w` (the first cells' channels) and the depth `d` (number of cells). Both are drawn uniformly from their
values, so only laws whose values are equally likely apply (choice, fixed, uniform): the built-in specs
(spaces/NDS_DARTS.yaml, ...) list the release's values, and with them a spec draws exactly the nets
`sample_cells` draws for the same seed. Cell nets have no per-block widths, no activation count and no stage
columns: a study keeps the depth as column `d` and the width, depth and per-cell operation counts in `extra`,
as the NDS importer keeps a release file's.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from backend.fielderrors import InvalidField

from ..batch import Records
from ..cell_spaces import BY_RELEASE, CELL_SPACES, CellSpace, sample_cells
from ..cells import op_counts, parse_genotype
from . import Family, FamilyOption

if TYPE_CHECKING:
    from ..sampling import Regime
    from ..spec import SpaceSpec

#: laws whose values are equally likely: a width or depth is drawn uniformly from the law's values
LAWS = ("choice", "fixed", "uniform")
MAX_DEPTH = 64  # workers/cells.py builds at most 64 cells
MAX_CANDIDATES = 2_000_000  # counted one by one in Python (~5-20 k/s): the AnyNet sampler's 2e8 would take hours


class NdsCell(Family):
    name = "nds_cell"
    label = "NAS cells (NDS)"
    description = ("width, depth (cells) and a normal and a reduction cell of (operation, input) pairs (NDS DARTS, "
                   "NASNet, PNAS, ENAS, Amoeba)")
    order = 32
    params = ("w", "d")
    per_block_widths = False
    arch_type = "nds_cell"
    refine_steps = frozenset()  # refinement reads per-parameter models columns; a cell net's width is in `extra`
    options = (FamilyOption("cell", "which NDS cell space: its operations, nodes per cell and concatenated nodes",
                            tuple(BY_RELEASE)),)
    columns = ("d", "width", "depth", "normal_<op>", "reduce_<op>", "release_flops")

    def check_spec(self, space: SpaceSpec) -> None:
        super().check_spec(space)
        for k, p in space.params.items():
            if p.law not in LAWS:
                raise InvalidField(f"params.{k}.law", f"{self.name} draws {k} uniformly from its values; law "
                                   f"{p.law!r} does not", ", ".join(LAWS))
        lo, hi = space.params["d"].bounds()
        if hi > MAX_DEPTH:
            raise InvalidField("params.d", f"at most {MAX_DEPTH} cells (got up to {hi:g})", f"[1, {MAX_DEPTH}]")

    def cell_space(self, space: SpaceSpec, im_size: int, num_classes: int) -> CellSpace:
        """The cell space of `options.cell` with the spec's widths and depths, counted at im_size/num_classes."""
        base = CELL_SPACES[BY_RELEASE[self.option(space, "cell")]]
        return replace(base, widths=tuple(int(v) for v in space.params["w"].support()),
                       depths=tuple(int(v) for v in space.params["d"].support()), im_size=im_size,
                       num_classes=num_classes)

    def structure_counts(self, space: SpaceSpec) -> dict[str, tuple[int, int, int]]:
        """The genotype: each of the 2 cells has `nodes` nodes of 2 (operation, input) pairs, the input of node j
        (0-based) one of j + 2; every choice is free and every combination a distinct draw of sample_cells."""
        cells = CELL_SPACES[BY_RELEASE[self.option(space, "cell")]]
        per_cell = math.prod((len(cells.ops) * (j + 2)) ** 2 for j in range(cells.nodes))
        return {"genotype": (len(cells.ops), per_cell**2, 2 * cells.nodes * 2 * 2)}

    def sample_records(self, space: SpaceSpec, n: int, seed: int, regime: Regime, *, im_size: int,
                       num_classes: int, max_candidates: int) -> Records:
        if regime.acts is not None:
            raise InvalidField("regime.acts", "cell nets have no activation count; drop the acts range")
        cells = self.cell_space(space, im_size, num_classes)
        res = sample_cells(cells, n, seed, flops=regime.flops, params=regime.params,
                           max_candidates=min(max_candidates, MAX_CANDIDATES))
        return Records(res.records, res.candidates, res.seconds)

    def model_row(self, space: SpaceSpec, record: dict[str, Any]) -> dict[str, Any]:
        cfg = record["config"]
        ops = {f"{cell}_{op}": 0.0 for cell in ("normal", "reduce") for op in CELL_SPACES[cfg["space"]].ops}
        ops |= {k: float(v) for k, v in op_counts(parse_genotype(cfg["genotype"])).items()}
        extra = {"width": float(cfg["width"]), "depth": float(cfg["depth"]), "aux": 0.0, "drop_prob": 0.0,
                 "release_flops": record["release_flops"], **ops}
        return {"config": cfg, "arch_type": self.arch_type, "flops": record["flops"], "params": record["params"],
                "acts": None, "columns": {"d": float(cfg["depth"])}, "extra": extra}


FAMILY = NdsCell()

"""NDS's five NAS cell spaces (DARTS, NASNet, PNAS, ENAS, Amoeba) as native spaces: a seeded sampler.

A model of a cell space is a width (the first cells' channels), a depth (number of cells) and a genotype: for
each of the normal and the reduction cell, `nodes` nodes of two (operation, input) pairs. NDS draws every
choice uniformly and independently (checked against the release files in tests/test_nds_cells.py):

- the operation of each pair uniformly from the space's operation list (DARTS's includes the zero op `none`);
- the input of a pair of node j (0-based) uniformly from 0..j+1 — the cell's two inputs and the earlier
  nodes; the two inputs of a node may coincide;
- the concatenated nodes: all intermediate nodes (DARTS, PNAS), or the loose ends, the nodes nothing else
  reads (NASNet, ENAS, Amoeba);
- width and depth uniformly from short lists. The lists are the union of the values the release's ImageNet
  files show (w ∈ {32, 48, 64, 80, 96}, d ∈ {6, 10, 14, 18, 22}); a file holds only part of them because its
  population was cut to a complexity range, which a regime here reproduces.

The operation lists are NDS's (its paper's Table 1, and the release's genotypes: DARTS, NASNet and PNAS files
use exactly these). Complexity comes from cells.cell_complexity: `macs` (plain multiply-adds, netspace's flops,
what a regime constrains) and `release_flops` (the release's convention, for comparison with imported studies).
The draws are vectorised with numpy; counting a net is a short sum over cached per-operation costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal

import numpy as np

from backend.fielderrors import InvalidField

from .cells import Genotype, cell_complexity, loose_ends

CHUNK = 4096  # genotypes drawn per round; part of the reproducibility contract
EMPTY_AFTER = 100_000  # candidates with no net in the regime: call the regime empty (~20 s of counting)


@dataclass(frozen=True, slots=True)
class CellSpace:
    name: str
    release: str  # the release's space name (its file is <release>_in.json)
    ops: tuple[str, ...]
    nodes: int
    concat: Literal["all", "loose_ends"]
    widths: tuple[int, ...] = (32, 48, 64, 80, 96)
    depths: tuple[int, ...] = (6, 10, 14, 18, 22)
    im_size: int = 224
    num_classes: int = 1000

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "release": self.release, "ops": list(self.ops), "nodes": self.nodes,
                "concat": self.concat, "widths": list(self.widths), "depths": list(self.depths),
                "im_size": self.im_size, "num_classes": self.num_classes}


_PNAS_OPS = ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7", "conv_7x1_1x7", "skip_connect", "avg_pool_3x3",
             "max_pool_3x3", "dil_conv_3x3")
CELL_SPACES: dict[str, CellSpace] = {s.name: s for s in (
    CellSpace("NDS_DARTS", "DARTS", ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                                     "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"), 4, "all"),
    CellSpace("NDS_NASNet", "NASNet", ("skip_connect", "conv_3x1_1x3", "conv_7x1_1x7", "dil_conv_3x3",
                                       "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7", "conv_1x1",
                                       "conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"), 5,
              "loose_ends"),
    CellSpace("NDS_PNAS", "PNAS", _PNAS_OPS, 5, "all"),
    CellSpace("NDS_ENAS", "ENAS", ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3",
                                   "max_pool_3x3"), 5, "loose_ends"),
    CellSpace("NDS_Amoeba", "Amoeba", ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
                                       "avg_pool_3x3", "max_pool_3x3", "dil_sep_conv_3x3", "conv_7x1_1x7"), 5,
              "loose_ends"),
)}
#: the release's space name -> the native cell space
BY_RELEASE = {s.release: s.name for s in CELL_SPACES.values()}


def get_cell_space(name: str) -> CellSpace:
    if name not in CELL_SPACES:
        raise InvalidField("space", f"unknown cell space {name!r}; one of {', '.join(CELL_SPACES)}")
    return CELL_SPACES[name]


def _range(rng: tuple[float | None, float | None] | None) -> tuple[float, float]:
    lo, hi = rng or (None, None)
    return (-np.inf if lo is None else lo, np.inf if hi is None else hi)


@dataclass
class CellSample:
    space: CellSpace
    records: list[dict[str, Any]]
    candidates: int
    seconds: float


def cell_config(space: CellSpace, width: int, depth: int, genotype: Genotype) -> dict[str, Any]:
    """A sampled net as the release's `net` dict plus the config type and its space (workers/cells.py)."""
    return {"type": "nds_cell", "space": space.name, "width": width, "depth": depth, "aux": False,
            "drop_prob": 0.0, "genotype": genotype.as_dict()}


def _genotype(space: CellSpace, ops: np.ndarray, inputs: np.ndarray) -> Genotype:
    """ops, inputs: (2, 2·nodes) integer rows for the normal and the reduction cell."""
    cells = []
    for c in range(2):
        pairs = tuple((space.ops[o], i) for o, i in zip(ops[c].tolist(), inputs[c].tolist(), strict=True))
        concat = tuple(range(2, 2 + space.nodes)) if space.concat == "all" else loose_ends(pairs)
        cells.append((pairs, concat))
    return Genotype(cells[0][0], cells[0][1], cells[1][0], cells[1][1])


def sample_cells(space: CellSpace, n: int, seed: int = 0, *, flops: tuple[float | None, float | None] | None = None,
                 params: tuple[float | None, float | None] | None = None,
                 max_candidates: int = 2_000_000, empty_after: int = EMPTY_AFTER) -> CellSample:
    """n distinct nets of `space` whose plain multiply-adds lie in `flops` and parameters in `params` (closed
    ranges, None = open), drawn from numpy's Generator(seed): the same nets on every machine, a smaller n a
    prefix of a larger one. Raises InvalidField (field `n`) when n is out of reach within max_candidates, and
    (field `regime`) when `empty_after` candidates gave no net at all: each candidate is counted in Python, so
    an empty regime is called early rather than after minutes."""
    if n < 0:
        raise InvalidField("n", f"must be >= 0 (got {n})")
    f_lo, f_hi = _range(flops)
    p_lo, p_hi = _range(params)
    rng = np.random.default_rng(seed)
    k = 2 * space.nodes
    # input bound per pair: a pair of node j reads one of 0..j+1
    bound = np.repeat(np.arange(2, 2 + space.nodes), 2)
    records: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    candidates = 0
    t0 = perf_counter()
    while len(records) < n:
        if not records and candidates >= empty_after:
            raise InvalidField("regime", f"no net of {space.name} (widths {list(space.widths)}, depths "
                               f"{list(space.depths)}) falls in the regime at {space.im_size}px after "
                               f"{candidates:,} candidates; widen the range")
        if candidates >= max_candidates:
            raise InvalidField("n", f"{n} nets of {space.name} in the regime are out of reach within "
                                    f"{max_candidates:,} candidates ({len(records)} found); lower n or widen it")
        widths = rng.choice(np.asarray(space.widths), CHUNK)
        depths = rng.choice(np.asarray(space.depths), CHUNK)
        ops = rng.integers(0, len(space.ops), (CHUNK, 2, k))
        inputs = np.floor(rng.random((CHUNK, 2, k)) * bound).astype(np.int64)
        candidates += CHUNK
        for i in range(CHUNK):
            key = (int(widths[i]), int(depths[i]), ops[i].tobytes(), inputs[i].tobytes())
            if key in seen:
                continue
            g = _genotype(space, ops[i], inputs[i])
            cx = cell_complexity(key[0], key[1], g, im_size=space.im_size, num_classes=space.num_classes)
            if not (f_lo <= cx["macs"] <= f_hi and p_lo <= cx["params"] <= p_hi):
                continue
            seen.add(key)
            records.append({"index": len(records), "config": cell_config(space, key[0], key[1], g),
                            "flops": cx["macs"], "params": cx["params"], "release_flops": cx["flops"]})
            if len(records) == n:
                break
    return CellSample(space, records, candidates, perf_counter() - t0)

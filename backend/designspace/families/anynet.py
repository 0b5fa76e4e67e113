"""AnyNet: free per-stage depth d_i, width w_i, bottleneck ratio b_i and group width g_i (paper §3.1).

A spec may make a stage parameter shared across stages (one draw, b_i = b) or monotone (non-decreasing over
stages, by rejection). Every candidate is then made buildable (regnet.standardize_stages: netspace's order by
default, or exactly pycls's sweep path with the spec's `standardize: pycls_sweep`), and a monotone width
constraint is checked again afterwards, so the adjustment cannot undo it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..batch import Batch
from ..regnet import standardize_stages
from . import Family
from ._stages import draw_all

if TYPE_CHECKING:
    from ..spec import SpaceSpec

STAGE_PARAMS = ("d", "w", "b", "g")


class AnyNet(Family):
    name = "anynet"
    label = "AnyNet"
    description = "free per-stage depth, width, bottleneck ratio and group width (AnyNetX A-E)"
    order = 10
    params = STAGE_PARAMS
    stage_params = STAGE_PARAMS
    shared_columns = ("g", "b")  # params.flat_params keeps a shared g and b as global columns
    refine_steps = frozenset({"narrow", "fix", "share", "monotone", "to_regnet"})

    def propose(self, space: SpaceSpec, rng: np.random.Generator, size: int) -> Batch:
        drawn, keep = draw_all(space, STAGE_PARAMS, rng, size)
        d, w, b, g = (drawn[k][keep] for k in STAGE_PARAMS)
        bm = 1.0 / b
        widths, group_ws = standardize_stages(w, bm, g, space.standardize)
        if space.params["w"].monotone:  # the adjustment must not undo the constraint
            ok = np.all(np.diff(widths, axis=1) >= 0, axis=1)
            d, w, b, g, bm, widths, group_ws = (x[ok] for x in (d, w, b, g, bm, widths, group_ws))
        sampled = {}
        for i in range(space.num_stages):
            sampled[f"d_{i + 1}"] = d[:, i]
            sampled[f"w_{i + 1}"] = w[:, i]
            sampled[f"b_{i + 1}"] = b[:, i]
            sampled[f"g_{i + 1}"] = g[:, i]
        return Batch(sampled, d.astype(np.int64), widths, bm, group_ws)


FAMILY = AnyNet()

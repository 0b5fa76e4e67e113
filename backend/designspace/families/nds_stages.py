"""NDS's Vanilla and ResNet spaces: per-stage depth d_i and width w_i of one fixed block (NDS, ICCV 2019).

The block is the spec's (`vanilla_block`: two plain 3x3 convs; `res_basic_block`: the same with a residual),
so neither a bottleneck nor groups apply: like the NDS importer, the canonical config carries the neutral
bot_mul 1 and group width = stage width, which these blocks ignore. Stages are drawn independently (or shared /
monotone where the spec says so) and kept as drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..batch import Batch
from . import Family
from ._stages import draw_all, stage_columns

if TYPE_CHECKING:
    from ..spec import SpaceSpec

STAGE_PARAMS = ("d", "w")


class NdsStages(Family):
    name = "nds_stages"
    label = "Depth and width (NDS)"
    description = "per-stage depth and width of one block without bottleneck or groups (NDS Vanilla, ResNet)"
    order = 31
    params = STAGE_PARAMS
    stage_params = STAGE_PARAMS

    def propose(self, space: SpaceSpec, rng: np.random.Generator, size: int) -> Batch:
        drawn, keep = draw_all(space, STAGE_PARAMS, rng, size)
        d, w = drawn["d"][keep].astype(np.int64), drawn["w"][keep].astype(np.int64)
        return Batch(stage_columns({k: v[keep] for k, v in drawn.items()}), d, w, np.ones(w.shape), w.copy())

    def check_spec(self, space: SpaceSpec) -> None:
        super().check_spec(space)
        if space.block_type == "res_bottleneck_block":
            from backend.fielderrors import InvalidField

            raise InvalidField("block_type", "nds_stages spaces have no bottleneck or groups: use vanilla_block "
                               "or res_basic_block (ResNeXt-style spaces: family nds_resnext)",
                               "vanilla_block, res_basic_block")


FAMILY = NdsStages()

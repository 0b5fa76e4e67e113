"""NDS ResNeXt: per-stage depth d_i, width w_i, bottleneck ratio b_i and NUMBER of groups (NDS, ICCV 2019).

The NDS paper's ResNeXt-A and ResNeXt-B spaces draw each stage's d, w, b and group count independently and
uniformly from short lists (the release files' own values: tests/test_nds_native.py). Unlike AnyNet, the
group *count* is the sampled value; the group width follows as w_i / (b_i · groups_i), and a draw whose group
width is not a whole number of channels is rejected. The stage lists are kept exactly as drawn: no rounding or
width adjustment (the release's nets are built from the drawn values as they are).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..batch import Batch
from . import Family
from ._stages import draw_all, stage_columns

if TYPE_CHECKING:
    from ..spec import SpaceSpec

STAGE_PARAMS = ("d", "w", "b", "groups")


class NdsResNeXt(Family):
    name = "nds_resnext"
    label = "ResNeXt (NDS)"
    description = "per-stage depth, width, bottleneck ratio and number of groups (NDS ResNeXt-A, ResNeXt-B)"
    order = 30
    params = STAGE_PARAMS
    stage_params = STAGE_PARAMS
    shared_columns = ("b",)  # params.flat_params keeps a shared b as a global column

    def propose(self, space: SpaceSpec, rng: np.random.Generator, size: int) -> Batch:
        drawn, keep = draw_all(space, STAGE_PARAMS, rng, size)
        w_b = drawn["w"] / drawn["b"]
        group_ws = w_b / drawn["groups"]
        keep &= np.all((group_ws >= 1) & (group_ws == np.floor(group_ws)) & (w_b == np.floor(w_b)), axis=1)
        drawn = {k: v[keep] for k, v in drawn.items()}
        return Batch(stage_columns(drawn), drawn["d"].astype(np.int64), drawn["w"].astype(np.int64),
                     1.0 / drawn["b"], group_ws[keep].astype(np.int64))


FAMILY = NdsResNeXt()

"""A batch of sampled architectures as arrays: what every family's proposal returns to the sampler.

The sampler (sampling.py) filters batches by complexity and regime without knowing the family; a family
(families/) fills `sampled` with its own coordinates (AnyNet's d_1..w_4, RegNet's d, w0, wa, wm, ...) and the
per-stage lists every AnyNet-built network has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .complexity import Counts
from .config import AnyNetConfig

if TYPE_CHECKING:
    from .spec import SpaceSpec


@dataclass
class Batch:
    """Valid architectures as arrays: the space's sampled coordinates plus the AnyNet stage lists."""

    sampled: dict[str, np.ndarray]
    depths: np.ndarray
    widths: np.ndarray
    bot_muls: np.ndarray
    group_ws: np.ndarray
    counts: Counts | None = None

    def take(self, idx: np.ndarray) -> Batch:
        c = self.counts
        return Batch(
            {k: v[idx] for k, v in self.sampled.items()},
            self.depths[idx], self.widths[idx], self.bot_muls[idx], self.group_ws[idx],
            None if c is None else Counts(c.flops[idx], c.params[idx], c.acts[idx]),
        )

    def __len__(self) -> int:
        return len(self.depths)


@dataclass
class Records:
    """Finished records of a family that samples whole networks itself (Family.sample_records): each has
    index, config, flops (multiply-adds), params and the family's own values; and the draws it took."""

    rows: list[dict[str, Any]]
    candidates: int
    seconds: float


def anynet_config(space: SpaceSpec, batch: Batch, i: int, **extra: Any) -> AnyNetConfig:
    """Row i of a batch as the canonical AnyNet config: the space's fixed parts and the row's stage lists
    (`extra`: what a family keeps beside them, e.g. RegNet's law parameters)."""
    return AnyNetConfig(
        stem_type=space.stem_type, stem_w=space.stem_w, block_type=space.block_type, se_r=space.se_r,
        head_w=space.head_w, depths=[int(x) for x in batch.depths[i]], widths=[int(x) for x in batch.widths[i]],
        strides=space.stage_strides(), bot_muls=[float(x) for x in batch.bot_muls[i]],
        group_ws=[int(x) for x in batch.group_ws[i]], **extra,
    )


def anynet_dicts(space: SpaceSpec, batch: Batch, extra: dict[str, list[dict[str, Any]]] | None = None,
                 ) -> list[dict[str, Any]]:
    """Every row's config as the JSON dict `anynet_config(...).model_dump(mode="json", exclude_none=True)`
    gives, built from the arrays at once: writing 10^4 sampled records was mostly pydantic building and
    validating configs the sampler had checked as arrays already (tests/test_sampling.py holds the two
    equal for every built-in space). `extra`: per-row dicts a family keeps beside the stage lists."""
    head = {"type": "anynet", "stem_type": space.stem_type, "stem_w": int(space.stem_w),
            "block_type": space.block_type}
    tail = {"se_r": float(space.se_r), "head_w": int(space.head_w)}
    strides = space.stage_strides()
    rows = zip(batch.depths.tolist(), batch.widths.tolist(), batch.bot_muls.astype(float).tolist(),
               batch.group_ws.tolist(), strict=True)
    out = [{**head, "depths": d, "widths": w, "strides": list(strides), "bot_muls": b, "group_ws": g, **tail}
           for d, w, b, g in rows]
    for key, values in (extra or {}).items():
        for row, value in zip(out, values, strict=True):
            row[key] = value
    return out

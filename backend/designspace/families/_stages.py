"""Per-stage draws shared by the families with one value per stage (AnyNet, NDS's ResNet-style spaces)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..laws import draw

if TYPE_CHECKING:
    from ..spec import SpaceSpec


def draw_stages(space: SpaceSpec, name: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """(size, S) draws of stage parameter `name`: one per stage, or one repeated when the spec shares it."""
    p = space.params[name]
    s = space.num_stages
    if p.shared:
        return np.repeat(draw(p, rng, size)[:, None], s, axis=1)
    return draw(p, rng, size * s).reshape(size, s)


def draw_all(space: SpaceSpec, names: tuple[str, ...], rng: np.random.Generator, size: int,
             ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every stage parameter's draws (in `names` order, so the stream is fixed) and the rows that meet the
    spec's monotone constraints (non-decreasing over stages)."""
    drawn = {k: draw_stages(space, k, rng, size) for k in names}
    keep = np.ones(size, dtype=bool)
    for k, arr in drawn.items():
        if space.params[k].monotone:
            keep &= np.all(np.diff(arr, axis=1) >= 0, axis=1)
    return drawn, keep


def stage_columns(drawn: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The sampled coordinates p_1..p_S of each stage parameter."""
    return {f"{k}_{i + 1}": arr[:, i] for k, arr in drawn.items() for i in range(arr.shape[1])}

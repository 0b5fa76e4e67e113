"""RegNet: per-block widths from the quantized linear law u_j = w0 + wa*j (paper §3.3), one global d, w0, wa,
wm, g and b per model.

Proposals are O(stages) per candidate: stage boundaries come from closed forms in (d, w0, wa, wm), checked
with the generator's own float expression where rounding meets a boundary, and only models with exactly the
spec's stage count are kept. Survivors of the regime are re-checked block by block (`exact`), so every
accepted model is what regnet.generate_regnet gives. Each model keeps its law parameters in
`config.regnet`, as pycls keeps REGNET.* beside the ANYNET lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..batch import Batch, anynet_config, anynet_dicts
from ..config import RegNetParams
from ..laws import draw
from ..regnet import QUANT, block_stage_indices, quantize_stage_width, regnet_stages
from . import Family

if TYPE_CHECKING:
    from ..config import AnyNetConfig
    from ..spec import SpaceSpec


def _stage_index(j: np.ndarray, w0: np.ndarray, wa: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """round(s_j) for one block index per candidate, with the generator's own float operations."""
    ks: np.ndarray = np.round(np.log((j * wa + w0) / w0) / np.log(wm))
    return ks


def regnet_stage_boundaries(d: np.ndarray, w0: np.ndarray, wa: np.ndarray, wm: np.ndarray,
                            num_stages: int) -> tuple[np.ndarray, np.ndarray]:
    """First block index of stages 1..num_stages (clipped to d), and a mask of rows that have exactly
    `num_stages` non-empty stages (total_stages == num_stages, no skipped index).

    Stage k starts at the first j with s_j >= k - 1/2, i.e. j_k = ceil(w0 (wm^(k-1/2) - 1) / wa). The
    closed form can be off by one where float rounding meets a boundary, so each j_k is checked (and
    moved) with the generator's exact expression at j_k - 1 and j_k.
    """
    n = len(d)
    ks = np.arange(1, num_stages + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        est = np.ceil(w0[:, None] * (np.power(wm[:, None], ks - 0.5) - 1.0) / wa[:, None])
    est = np.where(np.isfinite(est), est, np.inf)
    jk = np.clip(est, 0, d[:, None]).astype(np.int64)
    for c in range(num_stages):
        k = c + 1
        j = jk[:, c]
        inside = j < d
        at = np.where(inside, j, 0)
        too_early = inside & (_stage_index(at, w0, wa, wm) < k)
        j = j + too_early
        prev = np.maximum(j - 1, 0)
        too_late = (j >= 1) & (prev < d) & (_stage_index(prev, w0, wa, wm) >= k)
        jk[:, c] = np.minimum(j - too_late, d)
    firsts = np.concatenate([np.zeros((n, 1), dtype=np.int64), jk], axis=1)
    nonempty = np.all(np.diff(firsts[:, :num_stages], axis=1) > 0, axis=1) & (jk[:, num_stages - 2] < d) \
        if num_stages > 1 else np.ones(n, dtype=bool)
    valid = nonempty & (jk[:, num_stages - 1] >= d)
    return jk, valid


def verify_regnet_exact(batch: Batch) -> np.ndarray:
    """Rows whose stages equal the block-by-block generator's (every row, unless float rounding bit)."""
    if len(batch) == 0:
        return np.ones(0, dtype=bool)
    s = batch.sampled
    d = s["d"].astype(np.int64)
    dmax = int(d.max())
    j = np.arange(dmax)
    u, ks = block_stage_indices(dmax, s["w0"][:, None], s["wa"][:, None], s["wm"][:, None])
    del u
    inside = j[None, :] < d[:, None]
    ws_all = quantize_stage_width(s["w0"][:, None], s["wm"][:, None], ks, QUANT)
    S = batch.depths.shape[1]
    firsts = np.cumsum(batch.depths, axis=1) - batch.depths
    stage_of_j = (j[None, None, :] >= firsts[:, :, None]).sum(axis=1) - 1
    qw = quantize_stage_width(s["w0"][:, None], s["wm"][:, None], np.arange(S, dtype=np.float64)[None, :])
    expected = np.take_along_axis(qw, np.clip(stage_of_j, 0, S - 1), axis=1)
    same = np.all((ws_all == expected) | ~inside, axis=1)
    top = np.where(inside, ks, -1).max(axis=1)
    ok: np.ndarray = same & (top == S - 1) & (batch.depths.sum(axis=1) == d)
    return ok


class RegNet(Family):
    name = "regnet"
    label = "RegNet"
    description = "per-block widths from the quantized linear law (RegNetX, RegNetY)"
    order = 20
    params = ("d", "w0", "wa", "wm", "g", "b")
    #: the paper's Table 1 counts d, w0, wa and wm at about 64 levels each (~64^4 * 6 * 3)
    continuous_params = ("d", "w0", "wa", "wm")
    paper_levels = 64
    #: pycls caps a stage's group width at its inner width, so the flat g of a built RegNet can differ from
    #: (or, across stages, lose) the sampled one; config.regnet.group_w keeps the sampled value
    sampled_config_paths = {"g": ("regnet", "group_w")}

    def propose(self, space: SpaceSpec, rng: np.random.Generator, size: int) -> Batch:
        S = space.num_stages
        d = draw(space.params["d"], rng, size).astype(np.int64)
        w0, wa, wm, g, b = (draw(space.params[k], rng, size) for k in ("w0", "wa", "wm", "g", "b"))
        # cheapest test first: the last block's stage index must round to S - 1 (1e-9 margin: exact test below)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_last = np.log(((d - 1) * wa + w0) / w0) / np.log(wm)
        keep = (s_last >= S - 1.5 - 1e-9) & (s_last <= S - 0.5 + 1e-9)
        d, w0, wa, wm, g, b = (x[keep] for x in (d, w0, wa, wm, g, b))
        jk, valid = regnet_stage_boundaries(d, w0, wa, wm, S)
        stage_k = np.arange(S, dtype=np.float64)
        qw = quantize_stage_width(w0[:, None], wm[:, None], stage_k[None, :], QUANT)
        valid &= np.all(np.diff(qw, axis=1) > 0, axis=1)  # distinct quantized widths: num_stages == S
        d, w0, wa, wm, g, b, jk, qw = (x[valid] for x in (d, w0, wa, wm, g, b, jk, qw))
        firsts = np.concatenate([np.zeros((len(d), 1), dtype=np.int64), jk], axis=1)
        depths = np.diff(firsts, axis=1)
        bm = np.repeat((1.0 / b)[:, None], S, axis=1)
        widths, group_ws = regnet_stages(qw, bm, np.repeat(g[:, None], S, axis=1), space.standardize)
        sampled = {"d": d, "w0": w0, "wa": wa, "wm": wm, "g": g, "b": b}
        return Batch(sampled, depths, widths, bm, group_ws)

    def exact(self, batch: Batch) -> np.ndarray | None:
        return verify_regnet_exact(batch) if len(batch) else None

    def config(self, space: SpaceSpec, batch: Batch, i: int) -> AnyNetConfig:
        s = batch.sampled
        law = RegNetParams(depth=int(s["d"][i]), w0=int(s["w0"][i]), wa=float(s["wa"][i]), wm=float(s["wm"][i]),
                           group_w=int(s["g"][i]), bot_mul=1.0 / float(s["b"][i]))
        return anynet_config(space, batch, i, regnet=law)

    def config_dicts(self, space: SpaceSpec, batch: Batch) -> list[dict[str, Any]]:
        s = batch.sampled
        laws = [{"depth": d, "w0": w0, "wa": wa, "wm": wm, "group_w": g, "bot_mul": 1.0 / b}
                for d, w0, wa, wm, g, b in zip(s["d"].astype(int).tolist(), s["w0"].astype(int).tolist(),
                                               s["wa"].astype(float).tolist(), s["wm"].astype(float).tolist(),
                                               s["g"].astype(int).tolist(), s["b"].astype(float).tolist(),
                                               strict=True)]
        return anynet_dicts(space, batch, {"regnet": laws})


FAMILY = RegNet()

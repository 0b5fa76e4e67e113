"""Analytic flops (multiply-adds), parameters and activations of AnyNet models, vectorised.

Follows pycls's `complexity()` accounting layer by layer (PYCLS_FACTS.md §c): exact integers for one
image at a given input size and class count. Inputs are per-stage arrays of shape (N, S), so a batch of
a million candidate models costs a few dozen numpy operations; a stage of d blocks is its first block
(stride, width change, projection) plus d - 1 identical blocks, so depth never needs a Python loop.

A stage with depth 0 is allowed and contributes nothing (used for candidates with fewer stages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from backend.fielderrors import InvalidField

from .config import AnyNetConfig

I64 = np.int64
#: a per-model quantity: an int64 array over the batch, or one number the same for every model
Num = Any


@dataclass
class Counts:
    """flops, params and acts as int64 arrays (one entry per model)."""

    flops: np.ndarray
    params: np.ndarray
    acts: np.ndarray

    def __iadd__(self, other: Counts) -> Counts:
        self.flops = self.flops + other.flops
        self.params = self.params + other.params
        self.acts = self.acts + other.acts
        return self

    def scaled(self, k: np.ndarray) -> Counts:
        return Counts(self.flops * k, self.params * k, self.acts * k)


def _out_size(h: np.ndarray, stride: np.ndarray | int) -> np.ndarray:
    return (h - 1) // stride + 1


def _conv(h: Num, k: int, stride: Num, c_in: Num, c_out: Num, groups: Num = 1,
          bias: bool = False) -> tuple[np.ndarray, Counts]:
    """A k×k conv (no bias unless asked) followed by BN when bias is False (pycls always pairs them)."""
    ho = _out_size(h, stride)
    flops = k * k * c_in * c_out * ho * ho // groups
    params = k * k * c_in * c_out // groups
    if bias:
        flops = flops + c_out * ho * ho
        params = params + c_out
    else:
        params = params + 2 * c_out  # the BatchNorm that follows: gamma and beta
    return ho, Counts(flops, params, c_out * ho * ho)


def _se(w_b: Num, w_se: Num) -> Counts:
    """An SE block of width w_se on w_b channels; none at all where w_se rounds to 0 (pycls then builds no SE,
    see docs/reference-facts.md), so such blocks count nothing."""
    present = np.asarray(w_se) > 0
    cost = np.where(present, 2 * w_b * w_se + w_se + w_b, 0)
    return Counts(cost, cost, np.where(present, w_se + w_b, 0))


def _block(block_type: str, h: Num, w_in: Num, w_out: Num, stride: Num, bm: Num, gw: Num,
           se_r: float) -> tuple[np.ndarray, Counts]:
    """One block at input size h; returns output size and its counts."""
    if block_type == "res_bottleneck_block":
        w_b = np.rint(w_out * bm).astype(I64)
        groups = w_b // gw
        _, total = _conv(h, 1, 1, w_in, w_b)
        ho, c = _conv(h, 3, stride, w_b, w_b, groups)
        total += c
        if se_r > 0:
            total += _se(w_b, np.rint(w_in * se_r).astype(I64))
        _, c = _conv(ho, 1, 1, w_b, w_out)
        total += c
    elif block_type in ("res_basic_block", "vanilla_block"):
        ho, total = _conv(h, 3, stride, w_in, w_out)
        _, c = _conv(ho, 3, 1, w_out, w_out)
        total += c
    else:
        raise InvalidField("block_type", f"unknown {block_type!r}")
    if block_type != "vanilla_block":
        proj = ((w_in != w_out) | (stride != 1)).astype(I64)
        _, c = _conv(h, 1, stride, w_in, w_out)
        total += c.scaled(proj)
    return ho, total


def _stem(stem_type: str, h: Num, stem_w: int) -> tuple[np.ndarray, Counts]:
    if stem_type == "simple_stem_in":
        return _conv(h, 3, 2, 3, stem_w)
    if stem_type == "res_stem_cifar":
        return _conv(h, 3, 1, 3, stem_w)
    if stem_type == "res_stem_in":
        h, total = _conv(h, 7, 2, 3, stem_w)
        h = _out_size(h, 2)  # 3x3 max-pool, stride 2, padding 1
        total += Counts(np.zeros_like(h), np.zeros_like(h), stem_w * h * h)
        return h, total
    if stem_type == "nds_stem_in":  # the NDS release's ImageNet stem: 3x3 convs 3 -> w/2 -> w -> w, each stride 2
        h, total = _conv(h, 3, 2, 3, stem_w // 2)
        h, c2 = _conv(h, 3, 2, stem_w // 2, stem_w)
        h, c3 = _conv(h, 3, 2, stem_w, stem_w)
        total += c2
        total += c3
        return h, total
    raise InvalidField("stem_type", f"unknown {stem_type!r}")


def complexity_batch(
    depths: npt.ArrayLike,
    widths: npt.ArrayLike,
    strides: npt.ArrayLike,
    bot_muls: npt.ArrayLike,
    group_ws: npt.ArrayLike,
    *,
    stem_type: str = "simple_stem_in",
    stem_w: int = 32,
    block_type: str = "res_bottleneck_block",
    se_r: float = 0.0,
    head_w: int = 0,
    im_size: int = 224,
    num_classes: int = 1000,
) -> Counts:
    """Complexity of N models given (N, S) stage arrays (strides may be (S,) or (N, S))."""
    depths = np.atleast_2d(np.asarray(depths, dtype=I64))
    widths = np.atleast_2d(np.asarray(widths, dtype=I64))
    n, s = depths.shape
    strides = np.broadcast_to(np.asarray(strides, dtype=I64), (n, s))
    bot_muls = np.broadcast_to(np.asarray(bot_muls, dtype=np.float64), (n, s))
    group_ws = np.broadcast_to(np.asarray(group_ws, dtype=I64), (n, s))

    h = np.full(n, im_size, dtype=I64)
    h, total = _stem(stem_type, h, stem_w)
    total = Counts(*(np.broadcast_to(x, (n,)).astype(I64) for x in (total.flops, total.params, total.acts)))
    w_prev = np.full(n, stem_w, dtype=I64)
    for i in range(s):
        d, w, st, bm, g = depths[:, i], widths[:, i], strides[:, i], bot_muls[:, i], group_ws[:, i]
        present = d > 0
        ho, first = _block(block_type, h, w_prev, w, st, bm, g, se_r)
        _, rest = _block(block_type, ho, w, w, np.ones_like(st), bm, g, se_r)
        total += first.scaled(present.astype(I64))
        total += rest.scaled(np.maximum(d - 1, 0))
        h = np.where(present, ho, h)
        w_prev = np.where(present, w, w_prev)
    if head_w > 0:
        _, c = _conv(h, 1, 1, w_prev, head_w)
        total += c
        w_prev = np.full(n, head_w, dtype=I64)
    fc = w_prev * num_classes + num_classes
    total += Counts(fc, fc, np.full(n, num_classes, dtype=I64))
    return total


def complexity(cfg: AnyNetConfig, im_size: int = 224, num_classes: int = 1000) -> dict[str, int]:
    """Exact counts of one model as plain ints."""
    c = complexity_batch(
        [cfg.depths], [cfg.widths], cfg.strides, [cfg.bot_muls], [cfg.group_ws],
        stem_type=cfg.stem_type, stem_w=cfg.stem_w, block_type=cfg.block_type, se_r=cfg.se_r,
        head_w=cfg.head_w, im_size=im_size, num_classes=num_classes,
    )
    return {"flops": int(c.flops[0]), "params": int(c.params[0]), "acts": int(c.acts[0])}

"""Analytic flops (multiply-adds), parameters and activations of AnyNet models, vectorised.

Follows pycls's `complexity()` accounting layer by layer (PYCLS_FACTS.md §c): exact integers for one
image at a given input size and class count. Inputs are per-stage arrays of shape (N, S), so a batch of
a million candidate models costs a few dozen numpy operations; a stage of d blocks is its first block
(stride, width change, projection) plus d - 1 identical blocks, so depth never needs a Python loop.

A stage with depth 0 is allowed and contributes nothing (used for candidates with fewer stages).

The layer functions take numpy arrays or plain Python ints alike: `complexity` (one model) runs them on ints,
because numpy's fixed cost per operation makes a one-model array pass ~50x slower than the arithmetic itself,
and importers count every record of a file (importers/nds.py: plain multiply-adds of each NDS net).
"""

from __future__ import annotations

import functools
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
    """flops, params and acts as int64 arrays (one entry per model), or as Python ints for one model."""

    flops: Num
    params: Num
    acts: Num

    def __iadd__(self, other: Counts) -> Counts:
        self.flops = self.flops + other.flops
        self.params = self.params + other.params
        self.acts = self.acts + other.acts
        return self

    def scaled(self, k: Num) -> Counts:
        return Counts(self.flops * k, self.params * k, self.acts * k)


def _out_size(h: Num, stride: Num) -> Num:
    return (h - 1) // stride + 1


def _rint(x: Num) -> Num:
    """Round half to even, as an int64 array or a Python int (Python's round() is also half-to-even)."""
    return np.rint(x).astype(I64) if isinstance(x, np.ndarray) else round(x)


def _where(cond: Num, a: Num, b: Num) -> Num:
    """np.where for arrays; a plain choice for one model."""
    return np.where(cond, a, b) if isinstance(cond, np.ndarray) else (a if cond else b)


def _conv(h: Num, k: int, stride: Num, c_in: Num, c_out: Num, groups: Num = 1,
          bias: bool = False) -> tuple[Num, Counts]:
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
    present = w_se > 0
    cost = _where(present, 2 * w_b * w_se + w_se + w_b, 0)
    return Counts(cost, cost, _where(present, w_se + w_b, 0))


def _block(block_type: str, h: Num, w_in: Num, w_out: Num, stride: Num, bm: Num, gw: Num,
           se_r: float) -> tuple[Num, Counts]:
    """One block at input size h; returns output size and its counts."""
    if block_type == "res_bottleneck_block":
        w_b = _rint(w_out * bm)
        groups = w_b // gw
        _, total = _conv(h, 1, 1, w_in, w_b)
        ho, c = _conv(h, 3, stride, w_b, w_b, groups)
        total += c
        if se_r > 0:
            total += _se(w_b, _rint(w_in * se_r))
        _, c = _conv(ho, 1, 1, w_b, w_out)
        total += c
    elif block_type in ("res_basic_block", "vanilla_block"):
        ho, total = _conv(h, 3, stride, w_in, w_out)
        _, c = _conv(ho, 3, 1, w_out, w_out)
        total += c
    else:
        raise InvalidField("block_type", f"unknown {block_type!r}")
    if block_type != "vanilla_block":
        proj = (w_in != w_out) | (stride != 1)
        _, c = _conv(h, 1, stride, w_in, w_out)
        total += c.scaled(proj.astype(I64) if isinstance(proj, np.ndarray) else int(proj))
    return ho, total


def _stem(stem_type: str, h: Num, stem_w: int) -> tuple[Num, Counts]:
    if stem_type == "simple_stem_in":
        return _conv(h, 3, 2, 3, stem_w)
    if stem_type == "res_stem_cifar":
        return _conv(h, 3, 1, 3, stem_w)
    if stem_type == "res_stem_in":
        h, total = _conv(h, 7, 2, 3, stem_w)
        h = _out_size(h, 2)  # 3x3 max-pool, stride 2, padding 1
        total += Counts(0 * h, 0 * h, stem_w * h * h)
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

    h: Num = np.full(n, im_size, dtype=I64)
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
    total += _head(h, w_prev, head_w, num_classes)
    return total


def _head(h: Num, w_in: Num, head_w: int, num_classes: int) -> Counts:
    """The optional 1x1 head conv, then the classifier (global pool, fully connected with bias)."""
    total = Counts(0, 0, 0)
    if head_w > 0:
        _, total = _conv(h, 1, 1, w_in, head_w)
        w_in = head_w
    fc = w_in * num_classes + num_classes
    total += Counts(fc, fc, num_classes)
    return total


@functools.lru_cache(maxsize=1 << 16)
def _stage(block_type: str, h: int, w_in: int, w: int, stride: int, bm: float, gw: int,
           se_r: float) -> tuple[int, tuple[int, int, int], tuple[int, int, int]]:
    """One stage on Python ints: its output size, its first block's counts and each later block's. Cached:
    a design space has few distinct stages (NDS ResNeXt-B: a few thousand), so counting a file of nets drawn
    from it mostly looks stages up (at most 65,536 entries, ~15 MB)."""
    ho, first = _block(block_type, h, w_in, w, stride, bm, gw, se_r)
    _, rest = _block(block_type, ho, w, w, 1, bm, gw, se_r)
    return ho, (first.flops, first.params, first.acts), (rest.flops, rest.params, rest.acts)


@functools.lru_cache(maxsize=256)
def _stem_ints(stem_type: str, im_size: int, stem_w: int) -> tuple[int, int, int, int]:
    """The stem on Python ints: output size, flops, params, acts (cached: a file has one or a few stems)."""
    h, c = _stem(stem_type, im_size, stem_w)
    return h, c.flops, c.params, c.acts


def complexity(cfg: AnyNetConfig, im_size: int = 224, num_classes: int = 1000) -> dict[str, int]:
    """Exact counts of one model as plain ints: complexity_batch's pass on Python ints, stage by stage
    (module docstring)."""
    h, flops, params, acts = _stem_ints(cfg.stem_type, im_size, cfg.stem_w)
    w_prev = cfg.stem_w
    for d, w, st, bm, g in zip(cfg.depths, cfg.widths, cfg.strides, cfg.bot_muls, cfg.group_ws, strict=True):
        if d <= 0:
            continue
        h, (f1, p1, a1), (fr, pr, ar) = _stage(cfg.block_type, h, w_prev, w, st, bm, g, cfg.se_r)
        flops, params, acts = flops + f1 + (d - 1) * fr, params + p1 + (d - 1) * pr, acts + a1 + (d - 1) * ar
        w_prev = w
    head = _head(h, w_prev, cfg.head_w, num_classes)
    return {"flops": int(flops + head.flops), "params": int(params + head.params), "acts": int(acts + head.acts)}

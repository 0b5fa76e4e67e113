"""NAS cell networks of the NDS release (DARTS, NASNet, PNAS, ENAS, Amoeba): genotypes and their counts.

A cell network is a DARTS-style stack: a stem, `depth` cells with reduction cells at depth//3 and 2·depth//3
(channels double there), and a classifier on global average pooling. Each cell first brings its two inputs to
its width C (a 1×1 ReLU-conv-BN, or a factorized reduce when the previous cell halved the resolution), then
builds one node per pair of (operation, input) entries of its genotype and sums the pair; the cell's output
concatenates the nodes its `*_concat` lists (so its width is len(concat)·C). In a reduction cell an
operation on one of the two cell inputs has stride 2; operations on intermediate nodes have stride 1.

`cell_complexity` counts a net analytically in two conventions:

- `macs`: plain multiply-adds (convs and the classifier with its bias) — netspace's `flops` everywhere else;
- `flops`: the NDS release's own number, worked out from the release files (docs/nds-complexity.md): the
  multiply-adds as a shape formula gives them — a dilated conv's output size taken as if it had no dilation —
  plus one per ReLU input element and k² per output element of every k×k pooling (the global average pool
  included); BatchNorm, sums, concatenation and zero operations cost nothing. It reproduces every record of
  the vendored DARTS_in, NASNet_in and PNAS_in files to the unit.

`params` counts conv weights, BatchNorm scale and shift, and the classifier (weights and bias). This module is
pure (no torch): the torch builder (workers/cells.py) is checked against it with FlopCounterMode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: operation -> (kind, kernel size): "sep" two dw+pw stacks, "dil" one dilated dw+pw, "dilsep" two dilated
#: dw+pw stacks, "fac" a 1×k then k×1 conv, "conv" a plain k×k conv, "max"/"avg" pooling, "skip", "none"
OPS: dict[str, tuple[str, int]] = {
    "none": ("none", 0),
    "skip_connect": ("skip", 0),
    "avg_pool_3x3": ("avg", 3),
    "max_pool_3x3": ("max", 3),
    "max_pool_5x5": ("max", 5),
    "max_pool_7x7": ("max", 7),
    "sep_conv_3x3": ("sep", 3),
    "sep_conv_5x5": ("sep", 5),
    "sep_conv_7x7": ("sep", 7),
    "dil_conv_3x3": ("dil", 3),
    "dil_conv_5x5": ("dil", 5),
    "dil_sep_conv_3x3": ("dilsep", 3),
    "conv_1x1": ("conv", 1),
    "conv_3x3": ("conv", 3),
    "conv_3x1_1x3": ("fac", 3),
    "conv_7x1_1x7": ("fac", 7),
}


class GenotypeError(ValueError):
    """A genotype that does not describe a buildable cell; `field` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.detail = field, message


@dataclass(frozen=True, slots=True)
class Genotype:
    normal: tuple[tuple[str, int], ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[tuple[str, int], ...]
    reduce_concat: tuple[int, ...]

    def cell(self, reduction: bool) -> tuple[tuple[tuple[str, int], ...], tuple[int, ...]]:
        return (self.reduce, self.reduce_concat) if reduction else (self.normal, self.normal_concat)

    def as_dict(self) -> dict[str, Any]:
        return {"normal": [list(p) for p in self.normal], "normal_concat": list(self.normal_concat),
                "reduce": [list(p) for p in self.reduce], "reduce_concat": list(self.reduce_concat)}


def _pairs(v: Any, field: str) -> tuple[tuple[str, int], ...]:
    if not isinstance(v, list | tuple) or not v or len(v) % 2:
        raise GenotypeError(field, "must be a non-empty list of [operation, input] pairs, two per node")
    out = []
    for i, pair in enumerate(v):
        if (not isinstance(pair, list | tuple) or len(pair) != 2 or pair[0] not in OPS
                or not isinstance(pair[1], int) or isinstance(pair[1], bool)):
            raise GenotypeError(f"{field}[{i}]", f"must be [operation, input] with operation one of "
                                                 f"{', '.join(sorted(OPS))}, got {pair!r:.80}")
        if not 0 <= pair[1] < 2 + i // 2:
            raise GenotypeError(f"{field}[{i}]", f"input must be 0..{1 + i // 2} (the cell's two inputs and "
                                                 f"the earlier nodes), got {pair[1]}")
        out.append((str(pair[0]), int(pair[1])))
    return tuple(out)


def _concat(v: Any, nodes: int, field: str) -> tuple[int, ...]:
    if not isinstance(v, list | tuple) or not v or any(
            not isinstance(i, int) or isinstance(i, bool) or not 2 <= i < 2 + nodes for i in v):
        raise GenotypeError(field, f"must be a non-empty list of node indices 2..{nodes + 1}")
    return tuple(int(i) for i in v)


def parse_genotype(g: Mapping[str, Any]) -> Genotype:
    normal, reduce = _pairs(g.get("normal"), "normal"), _pairs(g.get("reduce"), "reduce")
    return Genotype(normal, _concat(g.get("normal_concat"), len(normal) // 2, "normal_concat"),
                    reduce, _concat(g.get("reduce_concat"), len(reduce) // 2, "reduce_concat"))


def reduction_cells(depth: int) -> frozenset[int]:
    """Indices of the reduction cells among `depth` cells."""
    return frozenset((depth // 3, 2 * depth // 3))


class _Counter:
    """Accumulates params, plain multiply-adds and the release's flops while walking a net's layers."""

    def __init__(self) -> None:
        self.params = self.macs = self.flops = 0

    def conv(self, c_in: int, c_out: int, kh: int, kw: int, h: int, w: int, *, groups: int = 1,
             formula_hw: tuple[int, int] | None = None) -> None:
        """A bias-free conv producing h×w; `formula_hw` is the output size the release's counter used where it
        differs (dilated convs: their shape formula ignores the dilation)."""
        per_out = kh * kw * (c_in // groups) * c_out
        self.params += per_out
        self.macs += per_out * h * w
        fh, fw = formula_hw or (h, w)
        self.flops += per_out * fh * fw

    def bn(self, c: int) -> None:
        self.params += 2 * c

    def relu(self, c: int, h: int, w: int) -> None:
        self.flops += c * h * w

    def pool(self, c: int, k: int, h_out: int, w_out: int) -> None:
        self.flops += k * k * c * h_out * w_out

    def add(self, cost: tuple[int, int, int]) -> None:
        self.params += cost[0]
        self.macs += cost[1]
        self.flops += cost[2]

    def linear(self, c_in: int, c_out: int) -> None:
        n = c_in * c_out + c_out
        self.params += n
        self.macs += n
        self.flops += n


def _down(h: int, stride: int) -> int:
    """Output size of a 'same'-padded odd-kernel conv or pool."""
    return (h - 1) // stride + 1


def _relu_conv_bn(cx: _Counter, c_in: int, c_out: int, k: int, h: int, stride: int) -> int:
    cx.relu(c_in, h, h)
    o = _down(h, stride)
    cx.conv(c_in, c_out, k, k, o, o)
    cx.bn(c_out)
    return o


def _factorized_reduce(cx: _Counter, c_in: int, c_out: int, h: int) -> int:
    """ReLU, two 1×1 stride-2 convs (the second on the input shifted by one pixel) to c_out/2 each, BN."""
    cx.relu(c_in, h, h)
    o = _down(h, 2)
    cx.conv(c_in, c_out // 2, 1, 1, o, o)
    cx.conv(c_in, c_out - c_out // 2, 1, 1, o, o)
    cx.bn(c_out)
    return o


def _dw_pw(cx: _Counter, c: int, k: int, h: int, stride: int, dilation: int, *, relu: bool = True) -> int:
    """ReLU, k×k depthwise conv (stride, dilation, 'same' padding), 1×1 conv, BN."""
    if relu:
        cx.relu(c, h, h)
    o = _down(h, stride)
    pad = dilation * (k - 1) // 2
    fo = (h + 2 * pad - k) // stride + 1  # the release's formula, blind to the dilation
    cx.conv(c, c, k, k, o, o, groups=c, formula_hw=(fo, fo))
    cx.conv(c, c, 1, 1, o, o)
    cx.bn(c)
    return o


@lru_cache(maxsize=4096)
def op_cost(name: str, c: int, h: int, stride: int) -> tuple[int, int, int]:
    """(params, macs, flops) of one operation on a c-channel h×h input: a sampled population repeats the same
    few (op, width, size) triples, so caching them makes counting a net a sum over its cells."""
    cx = _Counter()
    _op(cx, name, c, h, stride)
    return cx.params, cx.macs, cx.flops


def _op(cx: _Counter, name: str, c: int, h: int, stride: int) -> None:
    kind, k = OPS[name]
    o = _down(h, stride)
    if kind == "none":
        return
    if kind == "skip":
        if stride > 1:
            _factorized_reduce(cx, c, c, h)
    elif kind in ("max", "avg"):
        cx.pool(c, k, o, o)
    elif kind == "sep":
        _dw_pw(cx, c, k, _dw_pw(cx, c, k, h, stride, 1), 1, 1)
    elif kind == "dil":
        _dw_pw(cx, c, k, h, stride, 2)
    elif kind == "dilsep":
        _dw_pw(cx, c, k, _dw_pw(cx, c, k, h, stride, 2), 1, 2)
    elif kind == "conv":
        _relu_conv_bn(cx, c, c, k, h, stride)
    else:  # "fac": 1×k with stride (1, s), then k×1 with stride (s, 1)
        cx.relu(c, h, h)
        cx.conv(c, c, 1, k, h, o)
        cx.conv(c, c, k, 1, o, o)
        cx.bn(c)


@dataclass(frozen=True, slots=True)
class CellNetShape:
    """What the walk of a net found: per cell (reduction?, input size, output channels)."""

    cells: tuple[tuple[bool, int, int], ...]
    final_channels: int
    final_size: int


def _walk(cx: _Counter, width: int, depth: int, genotype: Genotype, imagenet: bool, im_size: int,
          aux: bool, num_classes: int) -> CellNetShape:
    c = width
    if imagenet:  # stem0: 3×3/2 conv to C/2, BN, ReLU, 3×3/2 conv to C, BN; stem1: ReLU, 3×3/2 conv, BN
        h = _down(im_size, 2)
        cx.conv(3, c // 2, 3, 3, h, h)
        cx.bn(c // 2)
        h = _relu_conv_bn(cx, c // 2, c, 3, h, 2)
        h_pp, h_p = h, _relu_conv_bn(cx, c, c, 3, h, 2)
        c_pp, c_p, c_cur, reduction_prev = c, c, c, True
    else:  # CIFAR: one 3×3 conv to 3C and BN
        h = im_size
        cx.conv(3, 3 * c, 3, 3, h, h)
        cx.bn(3 * c)
        h_pp = h_p = h
        c_pp, c_p, c_cur, reduction_prev = 3 * c, 3 * c, c, False
    reductions = reduction_cells(depth)
    cells = []
    aux_in: tuple[int, int] | None = None
    # a cell's cost depends only on these; the normal cells of a stage after its first two repeat them, so a deep
    # net is counted in a few cells' work (what makes the cell-space sampler's Python count fast enough)
    seen: dict[tuple[int, ...], tuple[int, int, int]] = {}
    for i in range(depth):
        reduction = i in reductions
        if reduction:
            c_cur *= 2
        pairs, concat = genotype.cell(reduction)
        h_out = _down(h_p, 2) if reduction else h_p
        key = (reduction, reduction_prev, c_pp, c_p, c_cur, h_pp, h_p)
        cost = seen.get(key)
        if cost is None:
            one = _Counter()
            if reduction_prev:
                _factorized_reduce(one, c_pp, c_cur, h_pp)
            else:
                _relu_conv_bn(one, c_pp, c_cur, 1, h_pp, 1)
            _relu_conv_bn(one, c_p, c_cur, 1, h_p, 1)
            for name, src in pairs:
                stride = 2 if reduction and src < 2 else 1
                one.add(op_cost(name, c_cur, h_p if src < 2 else h_out, stride))
            cost = seen[key] = (one.params, one.macs, one.flops)
        cx.add(cost)
        cells.append((reduction, h_p, len(concat) * c_cur))
        c_pp, c_p, h_pp, h_p, reduction_prev = c_p, len(concat) * c_cur, h_p, h_out, reduction
        if i == 2 * depth // 3:
            aux_in = (c_p, h_p)
    if aux and aux_in is not None:
        _aux_params(cx, aux_in[0], imagenet, num_classes)
    cx.pool(c_p, h_p, 1, 1)  # global average pool: k² = h² per output
    cx.linear(c_p, num_classes)
    return CellNetShape(tuple(cells), c_p, h_p)


def _aux_params(cx: _Counter, c: int, imagenet: bool, num_classes: int) -> None:
    """The auxiliary head's parameters only: it runs in training, so an inference count has no flops for it
    (unverified against a release record: no vendored record has aux set)."""
    params = c * 128 + 2 * 128 + 128 * 768 * 4 + (0 if imagenet else 2 * 768) + 768 * num_classes + num_classes
    cx.params += params


def cell_complexity(width: int, depth: int, genotype: Genotype, *, imagenet: bool = True,
                    im_size: int | None = None, num_classes: int | None = None,
                    aux: bool = False) -> dict[str, int]:
    """{"params", "macs", "flops"} of a cell net (flops in the release's convention; macs plain)."""
    if width < 2 or width % 2 or depth < 1:
        raise GenotypeError("width" if width < 2 or width % 2 else "depth",
                            "width must be an even number >= 2 and depth >= 1")
    cx = _Counter()
    _walk(cx, width, depth, genotype, imagenet, im_size or (224 if imagenet else 32),
          aux, num_classes or (1000 if imagenet else 10))
    return {"params": cx.params, "macs": cx.macs, "flops": cx.flops}


def cell_shape(width: int, depth: int, genotype: Genotype, *, imagenet: bool = True,
               im_size: int | None = None, num_classes: int | None = None) -> CellNetShape:
    return _walk(_Counter(), width, depth, genotype, imagenet, im_size or (224 if imagenet else 32), False,
                 num_classes or (1000 if imagenet else 10))


def op_counts(genotype: Genotype) -> dict[str, int]:
    """`normal_<op>` and `reduce_<op>`: how often each operation occurs in each cell."""
    out: dict[str, int] = {}
    for cell, pairs in (("normal", genotype.normal), ("reduce", genotype.reduce)):
        for name, _ in pairs:
            out[f"{cell}_{name}"] = out.get(f"{cell}_{name}", 0) + 1
    return out


def loose_ends(pairs: Iterable[tuple[str, int]]) -> tuple[int, ...]:
    """The intermediate nodes no other node reads: NASNet-style cells concatenate exactly these."""
    pairs = list(pairs)
    used = {src for _, src in pairs}
    return tuple(n for n in range(2, 2 + len(pairs) // 2) if n not in used)

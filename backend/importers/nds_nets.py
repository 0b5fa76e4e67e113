"""Flatten NDS architectures into browsable parameters, and map ResNet-like nets onto our AnyNet.

Two kinds of `net` occur in the NDS release (docs/reference-facts.md, "NDS release format"):

- ResNet / ResNeXt / Vanilla: per-stage lists `ds`, `ws`, `ss`, `bot_muls`, `num_gs` whose index 0 is
  the stem. Stage i (i >= 1) becomes our d_i, w_i, group width g_i = w_i * bot_mul_i / num_gs_i and
  bottleneck ratio b_i = 1 / bot_mul_i — the same meaning as the PARAM_NAMES columns of sampled models,
  so one filter or scatter works across native and imported studies. Where the net is expressible as
  our AnyNet (ImageNet stem -> res_stem_in, CIFAR stem -> res_stem_cifar; double_plain_block ->
  vanilla_block) the canonical AnyNetConfig is built too.
- NAS cell spaces (DARTS, Amoeba, ...): `width`, `depth` (cells) and a `genotype`; we count each
  operation in the normal and the reduce cell.

Stems: the release's ImageNet ResNeXt files have `ss[0]` = 8 — three 3x3 stride-2 convs 3 -> w/2 -> w -> w
(`nds_stem_in`); `ss[0]` = 4 is the 7x7 stride-2 conv and max-pool (`res_stem_in`); CIFAR is one 3x3 stride-1
conv (`res_stem_cifar`). With them the mapped AnyNet has exactly the release's parameters and multiply-adds.
`nds_complexity` recomputes a record's counts in the release's own convention (docs/nds-complexity.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import mul, truediv
from typing import Any

from pydantic import ValidationError

from backend.designspace.cell_spaces import BY_RELEASE
from backend.designspace.cells import GenotypeError, cell_complexity, parse_genotype
from backend.designspace.complexity import complexity
from backend.designspace.config import AnyNetConfig
from backend.designspace.params import MAX_STAGE_COLUMNS

from .records import RecordError, as_dict, as_float_list, as_int_list, as_number, empty_columns

#: NDS block type -> (imported family, our AnyNet block)
BLOCK_TYPES = {
    "res_bottleneck_block": ("nds_resnext", "res_bottleneck_block"),
    "res_basic_block": ("nds_resnet", "res_basic_block"),
    "double_plain_block": ("nds_vanilla", "vanilla_block"),
}
#: our stem for (ImageNet?, the file's stem stride ss[0])
STEMS = {(True, 8): "nds_stem_in", (True, 4): "res_stem_in", (False, 1): "res_stem_cifar"}
#: the release's flops count this much above the multiply-adds per conv output element (docs/nds-complexity.md)
NDS_FLOPS_PER_CONV_OUTPUT = 5
NAS_SPACES = ("amoeba", "darts", "enas", "nasnet", "pnas")


@dataclass(slots=True)
class FlatNet:
    arch_type: str
    columns: dict[str, float | None]
    extra: dict[str, float]
    anynet: AnyNetConfig | None


def _float_list(v: Any, n: int, label: str, name: str, default: float) -> list[float]:
    """`bot_muls`/`num_gs`: one entry per stem+stage, or empty (blocks without bottleneck or groups)."""
    if isinstance(v, list) and not v:
        return [default] * n
    if not isinstance(v, list) or len(v) != n:
        raise RecordError(label, name, f"must be a list with one entry per stage ({n}) or empty")
    out = as_float_list(v, label, name)
    for i, x in enumerate(out):
        if x <= 0:
            raise RecordError(label, f"{name}[{i}]", f"must be > 0, got {x!r}")
    return out


def _stage_keys(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{j}" for j in range(1, 65))


D_KEYS, W_KEYS, G_KEYS, B_KEYS, BM_KEYS, NG_KEYS = map(_stage_keys, ("d", "w", "g", "b", "bot_mul", "groups"))


def flatten_block_net(net: dict[str, Any], label: str, imagenet: bool) -> FlatNet:
    bt = net.get("block_type")
    if bt not in BLOCK_TYPES:
        raise RecordError(label, "net.block_type", f"must be one of {', '.join(BLOCK_TYPES)}, got {bt!r}")
    family, our_block = BLOCK_TYPES[bt]
    ds = as_int_list(net.get("ds"), label, "net.ds")
    n = len(ds)
    if not 2 <= n <= len(D_KEYS):
        raise RecordError(label, "net.ds", f"needs the stem and 1 to {len(D_KEYS) - 1} stages, got {n} entries")
    ws, ss = as_int_list(net.get("ws"), label, "net.ws"), as_int_list(net.get("ss"), label, "net.ss")
    for name, lst in (("ws", ws), ("ss", ss)):
        if len(lst) != n:
            raise RecordError(label, f"net.{name}", f"must have one entry per stage ({n}), got {len(lst)}")
        if min(lst) < 1:
            raise RecordError(label, f"net.{name}", "entries must be >= 1")
    bms = _float_list(net.get("bot_muls", []), n, label, "net.bot_muls", 1.0)
    ngs = _float_list(net.get("num_gs", []), n, label, "net.num_gs", 1.0)
    grouped = bt == "res_bottleneck_block"

    # stage i (1..n-1) of the file is our stage i: index 0 is the stem; past MAX_STAGE_COLUMNS, extra.
    # (C-level map/zip: this runs once per imported run; zip stops at the shorter of keys and values)
    stages, k = n - 1, min(n - 1, MAX_STAGE_COLUMNS)
    stage_ws, stage_bms = ws[1:], bms[1:]
    gws = list(map(truediv, map(mul, stage_ws, stage_bms), ngs[1:]))
    per_stage = [(D_KEYS, list(map(float, ds[1:]))), (W_KEYS, list(map(float, stage_ws)))]
    columns = empty_columns()
    columns["d"] = float(sum(ds) - ds[0])
    extra: dict[str, float] = {"stem_w": float(ws[0]), "w_max": float(max(stage_ws))}
    if grouped:
        bs = [1.0 / bm for bm in stage_bms]
        columns["g"] = gws[0] if gws.count(gws[0]) == stages else None
        columns["b"] = bs[0] if bs.count(bs[0]) == stages else None
        per_stage += [(G_KEYS, gws), (B_KEYS, bs)]
        extra.update(zip(BM_KEYS, stage_bms, strict=False))
        extra.update(zip(NG_KEYS, ngs[1:], strict=False))
    for keys, values in per_stage:
        columns.update(zip(keys[:k], values, strict=False))
        if stages > k:
            extra.update(zip(keys[k:], values[k:], strict=False))
    return FlatNet(family, columns, extra, _to_anynet(ds, ws, ss, bms, gws, our_block, imagenet, grouped))


def _to_anynet(ds: list[int], ws: list[int], ss: list[int], bms: list[float], gws: list[float],
               block: str, imagenet: bool, grouped: bool) -> AnyNetConfig | None:
    """The canonical AnyNet of a ResNet-like NDS net, or None where our AnyNet cannot express it."""
    stem = STEMS.get((imagenet, ss[0]))
    if ds[0] != 1 or stem is None or (stem == "nds_stem_in" and ws[0] % 2):
        return None
    if grouped:
        group_ws = list(map(int, gws))
        if group_ws != gws or min(group_ws) < 1:  # fractional group widths
            return None
        bot_muls = bms[1:]
    else:  # basic and plain blocks have neither: AnyNet ignores them, keep the neutral values
        bot_muls, group_ws = [1.0] * (len(ds) - 1), ws[1:]
    try:
        return AnyNetConfig(stem_type=stem, stem_w=ws[0], block_type=block, depths=ds[1:], widths=ws[1:],
                            strides=ss[1:], bot_muls=bot_muls, group_ws=group_ws)
    except ValidationError:
        return None


def nds_complexity(net: dict[str, Any], imagenet: bool) -> dict[str, int] | None:
    """A ResNet-like NDS net's counts at the release's resolution and classes (224 px and 1000 classes on
    ImageNet, 32 px and 10 on CIFAR): `params`, `macs` (plain multiply-adds with the classifier's bias, netspace's
    `flops`) and `flops` in the release's convention — the multiply-adds plus NDS_FLOPS_PER_CONV_OUTPUT per
    output element of every conv. None where the net has no AnyNet form (the reason: flatten_block_net)."""
    cfg = flatten_block_net(net, "net", imagenet).anynet
    if cfg is None:
        return None
    im_size, num_classes = (224, 1000) if imagenet else (32, 10)
    cx = complexity(cfg, im_size, num_classes)
    flops = release_flops(cx["flops"], cx["acts"], num_classes, cfg.stem_type, cfg.stem_w, im_size)
    return {"flops": flops, "macs": cx["flops"], "params": cx["params"]}


def release_flops(macs: int, acts: int, num_classes: int, stem_type: str, stem_w: int, im_size: int) -> int:
    """The release's `flops` of a ResNet-like net from netspace's counts: multiply-adds plus
    NDS_FLOPS_PER_CONV_OUTPUT per conv output element (acts less the classifier's and a max-pool's outputs)."""
    conv_outputs = acts - num_classes  # acts: conv outputs, the classifier's outputs, max-pool outputs
    if stem_type == "res_stem_in":
        conv_outputs -= stem_w * (im_size // 4) ** 2  # the stem's max-pool (unverified: no such file here)
    return macs + NDS_FLOPS_PER_CONV_OUTPUT * conv_outputs


def nds_cell_complexity(net: dict[str, Any], imagenet: bool) -> dict[str, int]:
    """A NAS cell net's counts at the release's resolution and classes: `params`, `macs` (plain multiply-adds)
    and `flops` in the release's cell-network convention (backend/designspace/cells.py)."""
    width = as_number(net.get("width"), "net", "net.width")
    depth = as_number(net.get("depth"), "net", "net.depth")
    if width != int(width) or depth != int(depth):
        raise RecordError("net", "net.width", "width and depth must be whole numbers")
    try:
        genotype = parse_genotype(as_dict(net.get("genotype"), "net", "net.genotype"))
        return cell_complexity(int(width), int(depth), genotype, imagenet=imagenet, aux=bool(net.get("aux")))
    except GenotypeError as e:
        raise RecordError("net", f"net.genotype.{e.field}" if e.field not in ("width", "depth")
                          else f"net.{e.field}", e.detail) from e


#: (the release file's space, ImageNet?) -> netspace's built-in space that samples it (designspace/spaces/)
NATIVE_SPACES = {("ResNeXt-A", True): "NDS_ResNeXt-A", ("ResNeXt-B", True): "NDS_ResNeXt-B",
                 ("Vanilla", False): "NDS_Vanilla", ("ResNet", False): "NDS_ResNet"}


#: the release's NAS cell spaces (ImageNet files) -> netspace's built-in cell space (family nds_cell, spaces/NDS_*.yaml)
NATIVE_CELL_SPACES = {(release, True): name for release, name in BY_RELEASE.items()}


def native_space(space: str, imagenet: bool) -> str | None:
    """The built-in space an NDS release file's population was sampled from, where netspace has it (an AnyNet-built
    NDS space, or a cell space of family nds_cell)."""
    return NATIVE_SPACES.get((space, imagenet)) or NATIVE_CELL_SPACES.get((space, imagenet))


def space_family(space: str) -> str:
    slug = re.sub(r"[^a-z0-9]", "", space.lower())
    return f"nds_{slug}" if slug in NAS_SPACES else "nds_cell"


def _cell_ops(genotype: dict[str, Any], cell: str, label: str) -> dict[str, float]:
    pairs = genotype.get(cell)
    name = f"net.genotype.{cell}"
    if not isinstance(pairs, list):
        raise RecordError(label, name, "must be a list of [operation, input] pairs")
    counts: dict[str, float] = {}
    for i, pair in enumerate(pairs):
        op = pair[0] if isinstance(pair, list | tuple) and pair else pair
        if not isinstance(op, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,60}", op):
            raise RecordError(label, f"{name}[{i}]", f"must be [operation name, input], got {pair!r:.60}")
        counts[f"{cell}_{op}"] = counts.get(f"{cell}_{op}", 0.0) + 1.0
    return counts


def flatten_cell_net(net: dict[str, Any], label: str, space: str) -> FlatNet:
    width = as_number(net.get("width"), label, "net.width")
    depth = as_number(net.get("depth"), label, "net.depth")
    genotype = as_dict(net.get("genotype"), label, "net.genotype")
    extra = {"width": width, "depth": depth}
    if "aux" in net:
        extra["aux"] = 1.0 if net["aux"] else 0.0
    if net.get("drop_prob") is not None:
        extra["drop_prob"] = as_number(net["drop_prob"], label, "net.drop_prob")
    extra |= _cell_ops(genotype, "normal", label) | _cell_ops(genotype, "reduce", label)
    columns = empty_columns()
    columns["d"] = depth
    return FlatNet(space_family(space), columns, extra, None)


def flatten_net(net: dict[str, Any], label: str, imagenet: bool, space: str) -> FlatNet:
    if "genotype" in net:
        return flatten_cell_net(net, label, space)
    if "block_type" in net:
        return flatten_block_net(net, label, imagenet)
    raise RecordError(label, "net", "neither a ResNet-like net (block_type, ds, ws, ...) nor a NAS cell net "
                                    "(width, depth, genotype)")


def zero_fill_ops(extras: list[dict[str, float]]) -> None:
    """Every cell net of a file gets every operation count the file uses (0 where absent), so filters and
    scatters over an operation see the whole population rather than only the nets that contain it."""
    keys = sorted({k for e in extras for k in e if k.startswith(("normal_", "reduce_"))})
    for e in extras:
        if "width" in e:
            for k in keys:
                e.setdefault(k, 0.0)

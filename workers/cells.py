"""PyTorch NAS cell networks (NDS's DARTS, NASNet, PNAS, ENAS, Amoeba spaces) from a `nds_cell` config.

The network is the one backend/designspace/cells.py counts: the ImageNet stem (three 3×3 stride-2 convs), the
cells with reductions at depth//3 and 2·depth//3, global average pooling and a linear classifier. Its parameter
count and FlopCounterMode multiply-adds equal the analytic `params` and `macs` (tests/test_nds_cells.py). The
global pool adapts to any input size, so a net also trains on small images (digits at 32 px).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from backend.designspace.cells import OPS, Genotype, GenotypeError, parse_genotype, reduction_cells
from backend.fielderrors import InvalidField


def _conv(c_in: int, c_out: int, k: int | tuple[int, int], stride: int | tuple[int, int] = 1,
          padding: int | tuple[int, int] = 0, dilation: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=False)


def _relu_conv_bn(c_in: int, c_out: int, k: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), _conv(c_in, c_out, k, stride, k // 2), nn.BatchNorm2d(c_out))


def _dw_pw(c: int, k: int, stride: int, dilation: int) -> list[nn.Module]:
    return [nn.ReLU(), _conv(c, c, k, stride, dilation * (k - 1) // 2, dilation, groups=c), _conv(c, c, 1),
            nn.BatchNorm2d(c)]


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing every other pixel: two 1×1 stride-2 convs, the second on the input
    shifted by one pixel, concatenated to c_out channels."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.conv_a = _conv(c_in, c_out // 2, 1, 2)
        self.conv_b = _conv(c_in, c_out - c_out // 2, 1, 2)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(shifted)], dim=1))


class Zero(nn.Module):
    """The zero operation: contributes nothing to its node (a zero tensor of the output's shape)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x[:, :, ::self.stride, ::self.stride])


def make_op(name: str, c: int, stride: int) -> nn.Module:
    kind, k = OPS[name]
    if kind == "none":
        return Zero(stride)
    if kind == "skip":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if kind == "max":
        return nn.MaxPool2d(k, stride, k // 2)
    if kind == "avg":
        return nn.AvgPool2d(k, stride, k // 2, count_include_pad=False)
    if kind in ("sep", "dilsep"):
        dil = 2 if kind == "dilsep" else 1
        return nn.Sequential(*_dw_pw(c, k, stride, dil), *_dw_pw(c, k, 1, dil))
    if kind == "dil":
        return nn.Sequential(*_dw_pw(c, k, stride, 2))
    if kind == "conv":
        return _relu_conv_bn(c, c, k, stride)
    return nn.Sequential(nn.ReLU(), _conv(c, c, (1, k), (1, stride), (0, k // 2)),  # "fac": 1×k then k×1
                         _conv(c, c, (k, 1), (stride, 1), (k // 2, 0)), nn.BatchNorm2d(c))


class Cell(nn.Module):
    def __init__(self, genotype: Genotype, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else _relu_conv_bn(c_pp, c, 1, 1)
        self.pre1 = _relu_conv_bn(c_p, c, 1, 1)
        pairs, self.concat = genotype.cell(reduction)
        self.inputs = [src for _, src in pairs]
        self.ops = nn.ModuleList(make_op(name, c, 2 if reduction and src < 2 else 1) for name, src in pairs)
        self.out_channels = len(self.concat) * c

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for j in range(0, len(self.ops), 2):
            a, b = self.inputs[j], self.inputs[j + 1]
            states.append(self.ops[j](states[a]) + self.ops[j + 1](states[b]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class CellNet(nn.Module):
    def __init__(self, width: int, depth: int, genotype: Genotype, num_classes: int) -> None:
        super().__init__()
        c = width
        self.stem0 = nn.Sequential(_conv(3, c // 2, 3, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU(),
                                   _conv(c // 2, c, 3, 2, 1), nn.BatchNorm2d(c))
        self.stem1 = nn.Sequential(nn.ReLU(), _conv(c, c, 3, 2, 1), nn.BatchNorm2d(c))
        c_pp, c_p, c_cur, reduction_prev = c, c, c, True
        reductions = reduction_cells(depth)
        cells = []
        for i in range(depth):
            reduction = i in reductions
            c_cur = 2 * c_cur if reduction else c_cur
            cell = Cell(genotype, c_pp, c_p, c_cur, reduction, reduction_prev)
            cells.append(cell)
            c_pp, c_p, reduction_prev = c_p, cell.out_channels, reduction
        self.cells = nn.ModuleList(cells)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.stem0(x)
        s1 = self.stem1(s0)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.fc(torch.flatten(self.pool(s1), 1))


def build_cell_net(config: dict[str, Any], num_classes: int) -> CellNet:
    """The torch net of a `nds_cell` config (cell_spaces.cell_config); bad parts are 422s naming the field."""
    width, depth = config.get("width"), config.get("depth")
    if not isinstance(width, int) or width < 2 or width % 2:
        raise InvalidField("config.width", f"must be an even integer >= 2, got {width!r}")
    if not isinstance(depth, int) or not 1 <= depth <= 64:
        raise InvalidField("config.depth", f"must be an integer in 1..64, got {depth!r}")
    if config.get("aux"):
        raise InvalidField("config.aux", "auxiliary heads are not built (no vendored record uses one)")
    try:
        genotype = parse_genotype(config.get("genotype") or {})
    except GenotypeError as e:
        raise InvalidField(f"config.genotype.{e.field}", e.detail) from e
    return CellNet(width, depth, genotype, num_classes)

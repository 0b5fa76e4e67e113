"""PyTorch AnyNet built from the canonical `AnyNetConfig` (pycls's anynet.py semantics, PYCLS_FACTS.md §b).

The analytic counts in `backend.designspace.complexity` and this builder describe the same network, and
tests/test_model_builder.py checks them against each other (parameters, conv/linear flops, activations) on
the zoo and on random samples of every built-in space. Module names follow pycls (`stem.conv`, `s1.b1.f.a`,
`head.fc`, ...) so state dicts line up with pycls checkpoints of the same architecture.
"""

from __future__ import annotations

import json
import math
from typing import Any

import torch
from torch import nn

from backend.designspace.config import AnyNetConfig
from backend.designspace.modelspec import parse_model_spec
from backend.fielderrors import InvalidField

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def conv2d(w_in: int, w_out: int, k: int, stride: int = 1, groups: int = 1, bias: bool = False) -> nn.Conv2d:
    """A k×k conv with pycls padding (k-1)//2, so the output is ceil(H/stride)."""
    return nn.Conv2d(w_in, w_out, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=bias)


def norm2d(w: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(w, eps=BN_EPS, momentum=BN_MOMENTUM)


class SimpleStemIN(nn.Module):
    """ImageNet 3×3 stride-2 stem (RegNet's)."""

    def __init__(self, w_in: int, w_out: int) -> None:
        super().__init__()
        self.conv = conv2d(w_in, w_out, 3, stride=2)
        self.bn = norm2d(w_out)
        self.af = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.af(self.bn(self.conv(x)))


class ResStemCifar(SimpleStemIN):
    """CIFAR 3×3 stride-1 stem (ResNet-56/110)."""

    def __init__(self, w_in: int, w_out: int) -> None:
        super().__init__(w_in, w_out)
        self.conv = conv2d(w_in, w_out, 3, stride=1)


class ResStemIN(nn.Module):
    """ResNet ImageNet stem: 7×7 stride 2, BN, ReLU, 3×3 max-pool stride 2."""

    def __init__(self, w_in: int, w_out: int) -> None:
        super().__init__()
        self.conv = conv2d(w_in, w_out, 7, stride=2)
        self.bn = norm2d(w_out)
        self.af = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.af(self.bn(self.conv(x))))


class NdsStemIN(nn.Module):
    """The NDS release's ImageNet stem: three 3×3 stride-2 conv+BN+ReLU, 3 → w/2 → w → w (total stride 8)."""

    def __init__(self, w_in: int, w_out: int) -> None:
        super().__init__()
        self.s1 = SimpleStemIN(w_in, w_out // 2)
        self.s2 = SimpleStemIN(w_out // 2, w_out)
        self.s3 = SimpleStemIN(w_out, w_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.s3(self.s2(self.s1(x)))


STEMS: dict[str, type[nn.Module]] = {
    "simple_stem_in": SimpleStemIN,
    "res_stem_in": ResStemIN,
    "res_stem_cifar": ResStemCifar,
    "nds_stem_in": NdsStemIN,
}


class SE(nn.Module):
    """Squeeze-and-Excitation: GAP, 1×1 conv (bias), ReLU, 1×1 conv (bias), sigmoid, channel-wise scale."""

    def __init__(self, w_in: int, w_se: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.f_ex = nn.Sequential(
            conv2d(w_in, w_se, 1, bias=True), nn.ReLU(inplace=True), conv2d(w_se, w_in, 1, bias=True), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.f_ex(self.avg_pool(x))


class BottleneckTransform(nn.Module):
    """1×1 → 3×3 (stride, groups) → [SE] → 1×1; the SE width comes from the block's INPUT width (pycls)."""

    def __init__(self, w_in: int, w_out: int, stride: int, bot_mul: float, group_w: int, se_r: float) -> None:
        super().__init__()
        w_b = int(round(w_out * bot_mul))
        self.a = conv2d(w_in, w_b, 1)
        self.a_bn = norm2d(w_b)
        self.a_af = nn.ReLU(inplace=True)
        self.b = conv2d(w_b, w_b, 3, stride=stride, groups=w_b // group_w)
        self.b_bn = norm2d(w_b)
        self.b_af = nn.ReLU(inplace=True)
        w_se = int(round(w_in * se_r))
        self.se = SE(w_b, w_se) if w_se > 0 else None  # as pycls: no SE where its width rounds to 0
        self.c = conv2d(w_b, w_out, 1)
        self.c_bn = norm2d(w_out)
        self.c_bn.final_bn = True  # type: ignore[assignment]  # pycls flag: may be zero-initialised

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.b_af(self.b_bn(self.b(self.a_af(self.a_bn(self.a(x))))))
        if self.se is not None:
            x = self.se(x)
        return self.c_bn(self.c(x))


class BasicTransform(nn.Module):
    """3×3 (stride) → BN → ReLU → 3×3 → BN."""

    def __init__(self, w_in: int, w_out: int, stride: int) -> None:
        super().__init__()
        self.a = conv2d(w_in, w_out, 3, stride=stride)
        self.a_bn = norm2d(w_out)
        self.a_af = nn.ReLU(inplace=True)
        self.b = conv2d(w_out, w_out, 3)
        self.b_bn = norm2d(w_out)
        self.b_bn.final_bn = True  # type: ignore[assignment]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b_bn(self.b(self.a_af(self.a_bn(self.a(x)))))


class ResBlock(nn.Module):
    """ReLU(shortcut(x) + f(x)); the shortcut is a 1×1 stride-s conv + BN when the shape changes."""

    def __init__(self, f: nn.Module, w_in: int, w_out: int, stride: int) -> None:
        super().__init__()
        self.proj: nn.Module | None = None
        if w_in != w_out or stride != 1:
            self.proj = conv2d(w_in, w_out, 1, stride=stride)
            self.bn = norm2d(w_out)
        self.f = f
        self.af = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.bn(self.proj(x))
        return self.af(shortcut + self.f(x))


class VanillaBlock(nn.Module):
    """[3×3 (stride), BN, ReLU] twice, no residual."""

    def __init__(self, w_in: int, w_out: int, stride: int) -> None:
        super().__init__()
        self.a = conv2d(w_in, w_out, 3, stride=stride)
        self.a_bn = norm2d(w_out)
        self.a_af = nn.ReLU(inplace=True)
        self.b = conv2d(w_out, w_out, 3)
        self.b_bn = norm2d(w_out)
        self.b_af = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b_af(self.b_bn(self.b(self.a_af(self.a_bn(self.a(x))))))


def make_block(block_type: str, w_in: int, w_out: int, stride: int, bot_mul: float, group_w: int,
               se_r: float) -> nn.Module:
    if block_type == "res_bottleneck_block":
        return ResBlock(BottleneckTransform(w_in, w_out, stride, bot_mul, group_w, se_r), w_in, w_out, stride)
    if block_type == "res_basic_block":
        return ResBlock(BasicTransform(w_in, w_out, stride), w_in, w_out, stride)
    if block_type == "vanilla_block":
        return VanillaBlock(w_in, w_out, stride)
    raise InvalidField("block_type", f"unknown {block_type!r}")


class Head(nn.Module):
    """Optional 1×1 conv + BN + ReLU, then global average pool and a linear classifier with bias."""

    def __init__(self, w_in: int, head_w: int, num_classes: int) -> None:
        super().__init__()
        self.conv: nn.Module | None = None
        if head_w > 0:
            self.conv = conv2d(w_in, head_w, 1)
            self.conv_bn = norm2d(head_w)
            self.conv_af = nn.ReLU(inplace=True)
            w_in = head_w
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(w_in, num_classes, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv is not None:
            x = self.conv_af(self.conv_bn(self.conv(x)))
        return self.fc(torch.flatten(self.avg_pool(x), 1))


class AnyNet(nn.Module):
    """stem → stages s1..sN (first block of each stage strides and changes width) → head."""

    def __init__(self, cfg: AnyNetConfig, num_classes: int, zero_init_final_gamma: bool = False) -> None:
        super().__init__()
        self.cfg = cfg
        self.stem = STEMS[cfg.stem_type](3, cfg.stem_w)
        w_in = cfg.stem_w
        for i, (d, w, s, bm, g) in enumerate(
            zip(cfg.depths, cfg.widths, cfg.strides, cfg.bot_muls, cfg.group_ws, strict=True), start=1
        ):
            stage = nn.Sequential()
            for j in range(1, d + 1):
                stride = s if j == 1 else 1
                stage.add_module(f"b{j}", make_block(cfg.block_type, w_in, w, stride, bm, g, cfg.se_r))
                w_in = w
            self.add_module(f"s{i}", stage)
        self.head = Head(w_in, cfg.head_w, num_classes)
        self.apply(lambda m: init_weights(m, zero_init_final_gamma))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.children():  # stem, s1..sN (Sequential of b1..bd), head: in registration order
            x = module(x)
        return x


def init_weights(m: nn.Module, zero_init_final_gamma: bool = False) -> None:
    """pycls init: conv N(0, sqrt(2/fan_out)) with fan_out = k·k·C_out (not divided by groups);
    BN γ=1, β=0; linear N(0, 0.01), bias 0. SE conv biases keep PyTorch's default (as pycls)."""
    if isinstance(m, nn.Conv2d):
        fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
        m.weight.data.normal_(mean=0.0, std=math.sqrt(2.0 / fan_out))
    elif isinstance(m, nn.BatchNorm2d):
        final = getattr(m, "final_bn", False) and zero_init_final_gamma
        m.weight.data.fill_(0.0 if final else 1.0)
        m.bias.data.zero_()
    elif isinstance(m, nn.Linear):
        m.weight.data.normal_(mean=0.0, std=0.01)
        m.bias.data.zero_()


def build_model(config: AnyNetConfig | dict[str, Any] | str, num_classes: int, *,
                zero_init_final_gamma: bool = False) -> nn.Module:
    """Build the torch model from a canonical AnyNet config, its JSON dict/text, a RegNet spec, or a NAS cell
    net of an NDS cell space (`"type": "nds_cell"`, workers/cells.py).
    zero_init_final_gamma: start each residual block's last BN at γ = 0 (pycls's BN.ZERO_INIT_FINAL_GAMMA),
    so every residual block begins as the identity (Recipe.zero_init_final_gamma). Cell nets have no residual
    blocks, so it does not apply to them."""
    if num_classes < 1:
        raise InvalidField("num_classes", f"must be >= 1, got {num_classes}")
    if isinstance(config, AnyNetConfig):
        return AnyNet(config, num_classes, zero_init_final_gamma=zero_init_final_gamma)
    raw = json.loads(config) if isinstance(config, str) else config
    if isinstance(raw, dict) and raw.get("type") == "nds_cell":
        from .cells import build_cell_net

        return build_cell_net(raw, num_classes)
    return AnyNet(parse_model_spec(raw), num_classes, zero_init_final_gamma=zero_init_final_gamma)

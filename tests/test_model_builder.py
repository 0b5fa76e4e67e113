"""The torch AnyNet builder against the analytic counts (and the counts against pycls's published integers).

Counting runs on the meta device: shapes flow through every layer, FlopCounterMode and forward hooks see
every op, but no memory is allocated and no arithmetic is done, so a 224² RegNetX-32GF costs only its
module construction. A separate test runs real arithmetic on CPU (channels_last, init statistics).

FlopCounterMode counts 2 flops per multiply-add of conv and matmul kernels and does NOT count bias adds,
while pycls's analytic flops include the bias adds of the biased layers (the SE convs and the FC). So the
exact identity checked here is   FlopCounterMode total == 2 × (analytic flops − bias adds),   with the bias
adds computed from the config alone: num_classes for the FC, plus (w_se + w_b) per SE block (both SE convs
run at 1×1 spatial size). Activations (conv/linear/max-pool output elements) and parameter counts must
match the analytic numbers with no offset.
"""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from backend.designspace.builtin import builtin_spaces
from backend.designspace.complexity import complexity
from backend.designspace.config import AnyNetConfig
from backend.designspace.families import get_family
from backend.designspace.modelspec import parse_model_spec
from backend.designspace.sampling import Regime, sample
from workers.model import build_model

SAMPLES_PER_SPACE = 4
RESNET56 = {
    "type": "anynet", "stem_type": "res_stem_cifar", "stem_w": 16, "block_type": "res_basic_block",
    "depths": [9, 9, 9], "widths": [16, 32, 64], "strides": [1, 2, 2], "bot_muls": [1, 1, 1],
    "group_ws": [16, 32, 64],
}


def bias_adds(cfg: AnyNetConfig, num_classes: int) -> int:
    """Bias additions inside pycls's analytic flops that FlopCounterMode leaves out (see module doc)."""
    total = num_classes
    if cfg.block_type == "res_bottleneck_block" and cfg.se_r > 0:
        w_in = cfg.stem_w
        for d, w, bm in zip(cfg.depths, cfg.widths, cfg.bot_muls, strict=True):
            for _ in range(d):
                w_se = int(round(w_in * cfg.se_r))
                total += w_se + int(round(w * bm)) if w_se else 0  # no SE where its width rounds to 0
                w_in = w
    return total


def measure(cfg: AnyNetConfig, im_size: int, num_classes: int) -> dict[str, int]:
    """Parameters, FlopCounterMode flops, hooked activations and output shape of the torch model on meta."""
    with torch.device("meta"):
        model = build_model(cfg, num_classes)
    acts = 0

    def hook(_m: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal acts
        acts += out.numel()

    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear | nn.MaxPool2d):
            m.register_forward_hook(hook)
    x = torch.empty(1, 3, im_size, im_size, device="meta")
    with FlopCounterMode(display=False) as counter:
        out = model(x)
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "torch_flops": counter.get_total_flops(),
        "acts": acts,
        "out_shape": tuple(out.shape),
    }


def assert_matches(cfg: AnyNetConfig, im_size: int, num_classes: int) -> dict[str, int]:
    cx = complexity(cfg, im_size, num_classes)
    got = measure(cfg, im_size, num_classes)
    assert got["params"] == cx["params"]
    assert got["torch_flops"] == 2 * (cx["flops"] - bias_adds(cfg, num_classes))
    assert got["acts"] == cx["acts"]
    assert got["out_shape"] == (1, num_classes)
    return cx


def zoo_rows(reference_dir) -> list[dict[str, str]]:
    with open(reference_dir / "regnet_zoo.csv", newline="") as f:
        return list(csv.DictReader(f))


def zoo_config(row: dict[str, str]) -> AnyNetConfig:
    return parse_model_spec({
        "type": "regnet", "depth": int(row["depth"]), "w0": int(row["w0"]), "wa": float(row["wa"]),
        "wm": float(row["wm"]), "group_w": int(row["group_w"]), "bot_mul": float(row["bot_mul"]),
        "se_r": float(row["se_ratio"]),
    })


def test_zoo_models_match_pycls_integers(reference_dir):
    rows = zoo_rows(reference_dir)
    assert len(rows) == 12
    for row in rows:
        cx = assert_matches(zoo_config(row), 224, 1000)
        assert (cx["flops"], cx["params"], cx["acts"]) == (
            int(row["flops_exact"]), int(row["params_exact"]), int(row["acts_exact"])), row["name"]


#: AnyNet-built spaces (cell spaces are checked against FlopCounterMode in test_nds_cells.py)
ANYNET_SPACES = [k for k, sp in builtin_spaces().items() if get_family(sp.family).arch_type == "anynet"]


@pytest.mark.parametrize("space_name", ANYNET_SPACES)
def test_random_samples_of_every_builtin_space(space_name):
    space = builtin_spaces()[space_name]
    res = sample(space, SAMPLES_PER_SPACE, seed=11, regime=Regime(flops=(50e6, 400e6)), im_size=space.im_size)
    records = res.records()
    assert len(records) == SAMPLES_PER_SPACE
    for rec in records:
        cfg = AnyNetConfig.model_validate(rec["config"])
        cx = assert_matches(cfg, space.im_size, space.num_classes)
        assert cx == {k: rec[k] for k in ("flops", "params", "acts")}


def test_other_stems_blocks_and_head_conv():
    """Paths no built-in space samples: ResNet stem + max-pool, ResNet-50 bottleneck, vanilla blocks,
    a head conv, odd input sizes (ceil(H/s) rounding) and a 1-block stage."""
    resnet50 = AnyNetConfig.model_validate({
        "stem_type": "res_stem_in", "stem_w": 64, "depths": [3, 4, 6, 3], "widths": [256, 512, 1024, 2048],
        "strides": [1, 2, 2, 2], "bot_muls": [0.25] * 4, "group_ws": [64, 128, 256, 512],
    })
    assert assert_matches(resnet50, 224, 1000)["params"] == 25_557_032  # the well-known ResNet-50 count
    vanilla = AnyNetConfig.model_validate({**RESNET56, "block_type": "vanilla_block"})
    assert assert_matches(vanilla, 32, 10) == {"flops": 125_485_706, "params": 853_018, "acts": 532_490}
    odd = AnyNetConfig.model_validate({
        "stem_type": "res_stem_in", "stem_w": 24, "depths": [1, 2], "widths": [48, 48], "strides": [2, 1],
        "bot_muls": [0.5, 2.0], "group_ws": [8, 16], "se_r": 0.25, "head_w": 40,
    })
    for im_size in (37, 64, 101):
        assert_matches(odd, im_size, 7)


def test_cifar_resnet56_matches_pycls():
    cfg = AnyNetConfig.model_validate(RESNET56)
    assert assert_matches(cfg, 32, 10) == {"flops": 125_747_850, "params": 855_770, "acts": 544_778}


def test_se_width_comes_from_block_input_width(reference_dir):
    row = next(r for r in zoo_rows(reference_dir) if r["name"] == "RegNetY-200MF")
    with torch.device("meta"):
        model = build_model(zoo_config(row), 1000)
    squeeze = model.s1.b1.f.se.f_ex[0]
    assert (squeeze.in_channels, squeeze.out_channels) == (24, 8)  # w_b = 24, w_se = round(32 · 0.25)
    assert model.s2.b1.f.se.f_ex[0].out_channels == 6  # round(24 · 0.25): input of s2 is s1's width 24
    assert squeeze.bias is not None and model.s1.b1.f.a.bias is None


def test_an_se_width_that_rounds_to_zero_builds_and_counts_no_se():
    """pycls builds no SE block where round(w_in · se_r) = 0 (and counts none): the expected integers are pycls's
    AnyNet.complexity for this config. The first block (w_in = 32 → 0.32) has none, the second (64 → 0.64 → 1)
    has one; before, netspace counted a width-0 SE and the builder divided by zero."""
    base = {"type": "anynet", "stem_w": 32, "widths": [64], "strides": [2], "bot_muls": [1.0], "group_ws": [8],
            "se_r": 0.01}
    one = AnyNetConfig.model_validate({**base, "depths": [1]})
    assert assert_matches(one, 224, 1000) == {"flops": 70_311_400, "params": 79_240, "acts": 1_807_336}
    two = AnyNetConfig.model_validate({**base, "depths": [2]})
    assert_matches(two, 224, 1000)
    with torch.device("meta"):
        model = build_model(two, 1000)
    assert model.s1.b1.f.se is None and model.s1.b2.f.se.f_ex[0].out_channels == 1


def test_real_forward_init_and_channels_last():
    torch.manual_seed(0)
    spec = {"type": "regnet", "depth": 6, "w0": 24, "wa": 20.0, "wm": 2.5, "group_w": 8, "se_r": 0.25}
    model = build_model(json.dumps(spec), 10).eval()
    conv = model.s3.b1.f.b
    fan_out = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.1)
    assert model.head.fc.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.count_nonzero(model.head.fc.bias) == 0
    bn = model.s1.b1.f.b_bn
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    assert (bn.eps, bn.momentum) == (1e-5, 0.1)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        cl = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    assert ref.shape == (4, 10) and torch.isfinite(ref).all()
    torch.testing.assert_close(cl, ref, rtol=1e-4, atol=1e-5)


def test_zero_init_final_gamma_makes_every_residual_block_start_as_identity():
    """Recipe.zero_init_final_gamma (pycls BN.ZERO_INIT_FINAL_GAMMA): only the last BN of each residual branch
    starts at gamma 0, so a block without projection passes its input through ReLU unchanged at init."""
    spec = {"type": "regnet", "depth": 6, "w0": 24, "wa": 20.0, "wm": 2.5, "group_w": 8, "se_r": 0.25}
    torch.manual_seed(0)
    plain = build_model(spec, 10)
    torch.manual_seed(0)
    zero = build_model(spec, 10, zero_init_final_gamma=True).eval()
    finals = [m for m in zero.modules() if getattr(m, "final_bn", False)]
    assert len(finals) == 6 and all(torch.all(m.weight == 0) for m in finals)
    assert all(torch.all(m.weight == 1) for m in plain.modules() if getattr(m, "final_bn", False))
    others = [m for m in zero.modules() if isinstance(m, nn.BatchNorm2d) and not getattr(m, "final_bn", False)]
    assert others and all(torch.all(m.weight == 1) for m in others)
    block = next(b for b in zero.modules() if type(b).__name__ == "ResBlock" and b.proj is None)
    x = torch.randn(2, block.f.a.in_channels, 4, 4).relu()
    with torch.no_grad():
        torch.testing.assert_close(block(x), x)


def test_bad_config_is_a_value_error():
    with pytest.raises(ValueError, match="group_ws"):
        build_model({**RESNET56, "block_type": "res_bottleneck_block", "group_ws": [16, 32, 48]}, 10)
    with pytest.raises(ValueError, match="num_classes"):
        build_model(RESNET56, 0)

"""RegNet generation and complexity against pycls's published numbers (shared/reference)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from backend.designspace.complexity import complexity
from backend.designspace.config import AnyNetConfig, RegNetSpec
from backend.designspace.regnet import adjust_widths_groups, generate_regnet, regnet_to_anynet

# (d, w0, wa, wm, g) of the zoo models that regnet_zoo.csv does not list: pycls's published configs
# (configs/dds_baselines/regnet*/); their complexity is checked against the paper's rounded figures.
PYCLS_CONFIGS = {
    "REGNETX-4.0GF": (23, 96, 38.65, 2.43, 40), "REGNETX-6.4GF": (17, 184, 60.83, 2.07, 56),
    "REGNETX-8.0GF": (23, 80, 49.56, 2.88, 120), "REGNETX-12GF": (19, 168, 73.36, 2.37, 112),
    "REGNETX-16GF": (22, 216, 55.59, 2.1, 128), "REGNETX-32GF": (23, 320, 69.86, 2.0, 168),
    "REGNETY-4.0GF": (22, 96, 31.41, 2.24, 64), "REGNETY-6.4GF": (25, 112, 33.22, 2.27, 72),
    "REGNETY-8.0GF": (17, 192, 76.82, 2.19, 56), "REGNETY-12GF": (19, 168, 73.36, 2.37, 112),
    "REGNETY-16GF": (18, 200, 106.23, 2.48, 112), "REGNETY-32GF": (20, 232, 115.89, 2.53, 232),
}


def _ints(s: str) -> list[int]:
    return [int(x) for x in s.split(";")]


def zoo_rows(reference_dir):
    with open(reference_dir / "regnet_zoo.csv") as f:
        return list(csv.DictReader(f))


def spec_of(row) -> RegNetSpec:
    return RegNetSpec(depth=int(row["depth"]), w0=int(row["w0"]), wa=float(row["wa"]), wm=float(row["wm"]),
                      group_w=int(row["group_w"]), bot_mul=float(row["bot_mul"]), se_r=float(row["se_ratio"]),
                      stem_w=int(row["stem_w"]), stem_type=row["stem_type"])


def test_zoo_models_match_exactly(reference_dir):
    rows = zoo_rows(reference_dir)
    assert len(rows) == 12
    for row in rows:
        cfg = regnet_to_anynet(spec_of(row))
        gen = generate_regnet(int(row["depth"]), int(row["w0"]), float(row["wa"]), float(row["wm"]))
        assert gen.widths == _ints(row["stage_widths_before_compat_adjust"]), row["name"]
        assert cfg.depths == _ints(row["stage_depths"]), row["name"]
        assert cfg.widths == _ints(row["stage_widths"]), row["name"]
        assert cfg.group_ws == _ints(row["stage_group_ws"]), row["name"]
        cx = complexity(cfg, 224, 1000)
        assert (cx["flops"], cx["params"], cx["acts"]) == (
            int(row["flops_exact"]), int(row["params_exact"]), int(row["acts_exact"])), row["name"]


def test_every_paper_regnet_row_rounds_to_the_published_figures(reference_dir, ):
    zoo = {r["name"].upper(): r for r in zoo_rows(reference_dir)}
    with open(reference_dir / "paper" / "regnet_top_models_fig15_fig16.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 24
    for row in rows:
        name = row["model"]
        if name in zoo:
            spec = spec_of(zoo[name])
        else:
            d, w0, wa, wm, g = PYCLS_CONFIGS[name]
            spec = RegNetSpec(depth=d, w0=w0, wa=wa, wm=wm, group_w=g, se_r=0.25 if "REGNETY" in name else 0.0)
        cx = complexity(regnet_to_anynet(spec))
        got = (round(cx["flops"] / 1e9, 1), round(cx["params"] / 1e6, 1), round(cx["acts"] / 1e6, 1))
        assert got == (float(row["flops_B"]), float(row["params_M"]), float(row["acts_M"])), name


def test_worked_example_block_widths():
    gen = generate_regnet(13, 24, 36.44, 2.49)
    assert gen.block_widths[:7] == [24, 56, 152, 152, 152, 152, 368]
    assert gen.widths == [24, 56, 152, 368] and gen.depths == [1, 1, 4, 7]
    assert gen.num_stages == gen.total_stages == 4
    assert gen.block_widths_cont[1] == pytest.approx(60.44)


def test_compat_adjustment_rounds_halves_to_even_and_caps_groups():
    w, g = adjust_widths_groups(np.array([24, 64, 152, 392]), np.ones(4), np.full(4, 16))
    assert w.tolist() == [32, 64, 160, 384]  # 392/16 = 24.5 -> 24 (half to even)
    w, g = adjust_widths_groups(np.array([80, 232, 664, 1912]), np.ones(4), np.full(4, 120))
    assert w.tolist() == [80, 240, 720, 1920] and g.tolist() == [80, 120, 120, 120]


def test_skipped_stage_index_gives_fewer_stages_than_total():
    gen = generate_regnet(3, 8, 200.0, 2.0)  # u = 8, 208, 408: k jumps 0 -> 5 -> 6
    assert gen.total_stages > gen.num_stages


def test_regnetx_200mf_stage_checkpoints():
    """Per-stage counts published in PYCLS_FACTS.md: stem + stage prefixes add up exactly."""
    cfg = regnet_to_anynet(RegNetSpec(depth=13, w0=24, wa=36.44, wm=2.49, group_w=8))
    stem_only = AnyNetConfig(**{**cfg.model_dump(exclude={"regnet"}), "depths": [1], "widths": [24],
                                "strides": [2], "bot_muls": [1.0], "group_ws": [8]})
    cx = complexity(stem_only, 224, 1000)
    # stem + s1 + head(24 -> 1000)
    assert cx["flops"] == 10_838_016 + 19_267_584 + 24 * 1000 + 1000
    assert cx["params"] == 928 + 4_032 + 24 * 1000 + 1000
    assert cx["acts"] == 401_408 + 526_848 + 1000


@pytest.mark.parametrize(
    "block,depth,expected",
    [("res_basic_block", 9, (125_747_850, 855_770, 544_778)),
     ("res_basic_block", 18, (253_149_834, 1_730_714, 1_060_874)),
     ("vanilla_block", 9, (125_485_706, 853_018, 532_490))],
)
def test_cifar_resnets_match_pycls(block, depth, expected):
    cfg = AnyNetConfig(stem_type="res_stem_cifar", stem_w=16, block_type=block, depths=[depth] * 3,
                       widths=[16, 32, 64], strides=[1, 2, 2], bot_muls=[1.0] * 3, group_ws=[16, 32, 64])
    cx = complexity(cfg, 32, 10)
    assert (cx["flops"], cx["params"], cx["acts"]) == expected


def test_regnety_stage1_matches_published_checkpoint():
    """SE width comes from the block's input width: round(32 * 0.25) = 8 on 24 channels."""
    cfg = AnyNetConfig(depths=[1], widths=[24], strides=[2], bot_muls=[1.0], group_ws=[8], se_r=0.25)
    cx = complexity(cfg, 224, 1000)
    assert cx["flops"] == 10_838_016 + 19_268_000 + 25_000
    assert cx["params"] == 928 + 4_448 + 25_000
    assert cx["acts"] == 401_408 + 526_880 + 1000

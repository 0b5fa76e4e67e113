"""`standardize: pycls_sweep` reproduces pycls's sweep path (scale_model at factor 1) exactly.

The oracle is tests/data/reference/pycls_sweep_cases.json: raw candidates of RegNetX and AnyNetX_A..E put through
pycls's own `scale_model` and `AnyNet.complexity` (SOURCES.md). Most cases were picked where netspace's default
standardisation differs from pycls's sweep, so the default cannot pass them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backend.designspace.builtin import get_space
from backend.designspace.complexity import complexity
from backend.designspace.config import AnyNetConfig, RegNetSpec
from backend.designspace.families import get_family
from backend.designspace.modelspec import parse_model_spec
from backend.designspace.regnet import regnet_to_anynet, standardize_stages
from backend.designspace.sampling import Regime, sample


def _cases(reference_dir: Path) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((reference_dir / "pycls_sweep_cases.json").read_text())["cases"]
    return cases


def _standardized(case: dict[str, Any], mode: str) -> AnyNetConfig:
    s = case["sampled"]
    if case["space"] == "RegNetX":
        spec = RegNetSpec(depth=s["d"], w0=s["w0"], wa=s["wa"], wm=s["wm"], group_w=s["g"], bot_mul=1 / s["b"])
        return regnet_to_anynet(spec, standardize=mode)  # type: ignore[arg-type]
    n = len(case["depths"])
    bms = np.array([1 / s[f"b_{i}"] for i in range(1, n + 1)])
    w, g = standardize_stages(np.array([s[f"w_{i}"] for i in range(1, n + 1)]), bms,
                              np.array([s[f"g_{i}"] for i in range(1, n + 1)]), mode)  # type: ignore[arg-type]
    return AnyNetConfig(depths=[s[f"d_{i}"] for i in range(1, n + 1)], widths=w.tolist(), strides=[2] * n,
                        bot_muls=bms.tolist(), group_ws=g.tolist())


def test_pycls_sweep_matches_pycls_scale_model_and_complexity(reference_dir: Path) -> None:
    cases = _cases(reference_dir)
    assert len(cases) >= 300 and {c["space"] for c in cases} >= {"RegNetX", "AnyNetX_A", "AnyNetX_E"}
    for case in cases:
        cfg = _standardized(case, "pycls_sweep")
        got = (cfg.depths, cfg.widths, cfg.group_ws)
        assert got == (case["depths"], case["widths"], case["group_ws"]), case
        cx = complexity(cfg, 224, 1000)
        assert (cx["flops"], cx["params"], cx["acts"]) == (case["flops"], case["params"], case["acts"]), case


def test_the_default_is_netspace_and_differs_from_the_sweep_on_the_picked_cases(reference_dir: Path) -> None:
    cases = _cases(reference_dir)
    differ = [c for c in cases if _standardized(c, "netspace").widths != c["widths"]
              or _standardized(c, "netspace").group_ws != c["group_ws"]]
    assert len(differ) >= 150  # the oracle holds the cases where the two orders part
    assert get_space("RegNetX").standardize == "netspace" and RegNetSpec(depth=13, w0=24, wa=36.44, wm=2.49,
                                                                         group_w=8).standardize == "netspace"


def test_issue_example_regnet_depth_28_w0_72() -> None:
    base = {"type": "regnet", "depth": 28, "w0": 72, "wa": 11.9, "wm": 1.838, "group_w": 32, "bot_mul": 0.25}
    default = parse_model_spec(base)
    sweep = parse_model_spec({**base, "standardize": "pycls_sweep"})
    assert default.widths == [72, 128, 256, 512]
    assert complexity(default)["flops"] == 369_394_408
    assert sweep.widths == [64, 128, 256, 512] and sweep.group_ws == [16, 32, 32, 32]
    assert complexity(sweep) == {"flops": 356_160_488, "params": 2_425_032, "acts": 4_146_792}
    assert sweep.regnet is not None and sweep.regnet.w0 == 72  # the law parameters stay as sampled


@pytest.mark.parametrize("name", ["RegNetX", "AnyNetX_A"])
def test_sampling_a_pycls_sweep_space_standardizes_every_model_the_sweep_way(name: str) -> None:
    space = get_space(name).model_copy(update={"standardize": "pycls_sweep"})
    res = sample(space, 300, seed=5, regime=Regime(flops=(2e8, 8e8)))
    fam = get_family(space.family)
    moved = 0
    for i in range(len(res)):
        cfg = fam.config(space, res.batch, i)
        s = {k: float(v[i]) for k, v in res.batch.sampled.items()}
        case = {"space": "RegNetX" if name == "RegNetX" else name, "depths": cfg.depths,
                "sampled": {k: (int(v) if v.is_integer() else v) for k, v in s.items()}}
        assert cfg.widths == _standardized(case, "pycls_sweep").widths
        moved += cfg.widths != _standardized(case, "netspace").widths
    assert moved > 0  # the option changes what is sampled

"""`netspace complexity --nds FILE`: every ResNet-style record of the NDS release recounted exactly from its net.

The release's flops are multiply-adds plus 5 per conv output element (docs/nds-complexity.md); its ImageNet
ResNeXt stem is `nds_stem_in`, which the torch builder builds with the analytic counts (FlopCounterMode).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.designspace.config import AnyNetConfig
from backend.importers.nds_recount import recount_file

RESNET_STYLE = {"ResNeXt-A_in.json": 130, "ResNeXt-B_in.json": 164, "Vanilla_reruns.json": 200}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(RESNET_STYLE))
def test_every_resnet_style_record_is_exact_through_the_cli(reference_dir: Path, name: str) -> None:
    proc = _cli("complexity", "--nds", str(reference_dir / "nds" / name), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    n = RESNET_STYLE[name]
    assert (out["records"], out["flops_exact"], out["params_exact"], out["mismatches"]) == (n, n, n, [])
    assert out["macs_total"] > 0


def test_cell_networks_are_reported_not_silently_passed(reference_dir: Path) -> None:
    out = recount_file((reference_dir / "nds" / "DARTS_in.json").read_text(), "DARTS_in.json")
    assert out["records"] == 121 and out["flops_exact"] == 0 and out["mismatched"] == 121
    assert len(out["mismatches"]) == 5 and "cell" in out["mismatches"][0]["reason"]


def test_a_changed_record_is_listed_as_a_mismatch(reference_dir: Path, tmp_path: Path) -> None:
    runs = json.loads((reference_dir / "nds" / "ResNeXt-A_in.json").read_text())
    runs[3]["flops"] += 1
    path = tmp_path / "ResNeXt-A_in.json"
    path.write_text(json.dumps(runs))
    out = recount_file(path.read_text(), path.name)
    assert out["flops_exact"] == 129 and out["params_exact"] == 130
    assert out["mismatches"][0]["record"] == "3" and out["mismatches"][0]["our_flops"] == runs[3]["flops"] - 1


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    proc = _cli("complexity", "--nds", str(tmp_path / "missing.json"), "--json")
    assert proc.returncode == 2 and "nds" in proc.stderr and proc.stderr.strip().count("\n") == 0
    proc = _cli("complexity")
    assert proc.returncode == 2 and "spec" in proc.stderr


def test_the_nds_imagenet_stem_builds_with_its_analytic_counts() -> None:
    pytest.importorskip("torch")
    from tests.test_model_builder import assert_matches

    net = AnyNetConfig.model_validate({
        "stem_type": "nds_stem_in", "stem_w": 64, "depths": [1, 2, 1], "widths": [64, 128, 256],
        "strides": [1, 2, 2], "bot_muls": [0.25, 0.5, 0.25], "group_ws": [16, 16, 32]})
    cx = assert_matches(net, 224, 1000)
    assert cx["params"] > 56_480  # the stem alone: 864 + 18,432 + 36,864 weights and 320 BN parameters

"""`netspace complexity --nds FILE`: every record of the vendored NDS release files recounted exactly from its net.

ResNet-style nets: the release's flops are multiply-adds plus 5 per conv output element; its ImageNet ResNeXt stem
is `nds_stem_in`, which the torch builder builds with the analytic counts (FlopCounterMode). NAS cell nets
(DARTS, NASNet, PNAS): a dilation-blind shape formula for the convs, plus ReLU inputs and k² per pooling output
(docs/nds-complexity.md, backend/designspace/cells.py).
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
CELL_NETS = {"DARTS_in.json": 121, "NASNet_in.json": 122, "PNAS_in.json": 119}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(RESNET_STYLE | CELL_NETS))
def test_every_record_is_exact_through_the_cli(reference_dir: Path, name: str) -> None:
    proc = _cli("complexity", "--nds", str(reference_dir / "nds" / name), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    n = (RESNET_STYLE | CELL_NETS)[name]
    assert (out["records"], out["flops_exact"], out["params_exact"], out["mismatches"]) == (n, n, n, [])
    assert out["macs_total"] > 0


def test_cell_flops_are_above_plain_multiply_adds_by_the_convention(reference_dir: Path) -> None:
    """The cell nets' release flops exceed their multiply-adds by 3-11 %: the convention is not a rounding."""
    for name in CELL_NETS:
        out = recount_file((reference_dir / "nds" / name).read_text(), name)
        runs = json.loads((reference_dir / "nds" / name).read_text().replace("NaN", "null"))
        ratio = sum(r["flops"] for r in runs) / out["macs_total"]
        assert 1.02 < ratio < 1.12, (name, ratio)


def test_a_bad_genotype_names_its_field(reference_dir: Path, tmp_path: Path) -> None:
    runs = json.loads((reference_dir / "nds" / "DARTS_in.json").read_text().replace("NaN", "null"))[:3]
    runs[1]["net"]["genotype"]["normal"][2] = ["warp_conv_9x9", 0]
    runs[2]["net"]["genotype"]["reduce"][4] = ["skip_connect", 7]
    out = recount_file(json.dumps(runs), "DARTS_in.json")
    assert (out["flops_exact"], out["mismatched"]) == (1, 2)
    reasons = [m["reason"] for m in out["mismatches"]]
    assert "net.genotype.normal[2]" in reasons[0] and "warp_conv_9x9" in reasons[0]
    assert "net.genotype.reduce[4]" in reasons[1] and "0..3" in reasons[1]


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
    from test_model_builder import assert_matches

    net = AnyNetConfig.model_validate({
        "stem_type": "nds_stem_in", "stem_w": 64, "depths": [1, 2, 1], "widths": [64, 128, 256],
        "strides": [1, 2, 2], "bot_muls": [0.25, 0.5, 0.25], "group_ws": [16, 16, 32]})
    cx = assert_matches(net, 224, 1000)
    assert cx["params"] > 56_480  # the stem alone: 864 + 18,432 + 36,864 weights and 320 BN parameters

"""Spec validation errors name the field; the CLI gives exit 2 and one line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from backend.designspace.builtin import builtin_spaces, get_space
from backend.designspace.spec import parse_space
from backend.fielderrors import validation_errors

NETSPACE = [sys.executable, "-m", "backend.cli"]


def run_cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*NETSPACE, *args], capture_output=True, text=True, timeout=120, input=input)


def errors_of(text: str) -> list[str]:
    with pytest.raises(ValidationError) as e:
        parse_space(text)
    return [str(f) for f in validation_errors(e.value)]


def test_builtins_are_data_and_round_trip_through_yaml():
    assert list(builtin_spaces())[:7] == ["AnyNetX_A", "AnyNetX_B", "AnyNetX_C", "AnyNetX_D", "AnyNetX_E",
                                          "RegNetX", "RegNetY"]
    for sp in builtin_spaces().values():
        assert parse_space(sp.yaml_text()) == sp
    assert get_space("RegNetY").se_r == 0.25 and get_space("RegNetX").se_r == 0
    assert get_space("AnyNetX_C").params["g"].shared and not get_space("AnyNetX_B").params["g"].shared
    assert get_space("AnyNetX_E").params["d"].monotone and not get_space("AnyNetX_D").params["d"].monotone


BASE = get_space("RegNetX").model_dump(mode="json")


@pytest.mark.parametrize(
    "change,expected",
    [
        ({"wm": {"law": "log_uniform", "low": 1.0, "high": 3.0, "q": 0.001}},
         "params.wm: width multiplier must be in (1"),
        ({"w0": {"law": "log_uniform", "low": 12, "high": 256, "q": 8}}, "params.w0"),
        ({"d": {"law": "uniform", "low": 20, "high": 10}}, "params.d.low: must be <= high"),
        ({"d": {"law": "uniform", "low": -3, "high": 10}}, "params.d.low: must be > 0"),
        ({"g": {"law": "choice", "values": []}}, "params.g.values"),
        ({"b": {"law": "choice", "values": [0.3]}}, "params.b: bottleneck ratio"),
        ({"zz": {"law": "fixed", "value": 1}}, "params: unknown ['zz']"),
    ],
)
def test_spec_errors_name_the_field(change, expected):
    data = json.loads(json.dumps(BASE))
    data["params"].update(change)
    msgs = errors_of(json.dumps(data))
    assert any(expected in m for m in msgs), msgs


def test_cli_complexity_json_matches_the_zoo():
    out = run_cli("complexity", '{"type": "regnet", "depth": 13, "w0": 24, "wa": 36.44, "wm": 2.49, '
                                '"group_w": 8, "se_r": 0.0}', "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["flops"], data["params"], data["acts"]) == (199_040_872, 2_684_792, 2_164_056)
    assert data["depths"] == [1, 1, 4, 7] and data["widths"] == [24, 56, 152, 368]
    assert data["group_ws"] == [8] * 4 and data["bot_muls"] == [1.0] * 4 and data["strides"] == [2] * 4
    spec = {"type": "regnet", "depth": 13, "w0": 24, "wa": 36.44, "wm": 2.49, "group_w": 8}
    cifar = run_cli("complexity", json.dumps(spec), "--im-size", "32", "--num-classes", "10", "--json")
    assert json.loads(cifar.stdout)["flops"] < data["flops"] / 40


def test_cli_sample_jsonl_and_number_forms(tmp_path):
    out = run_cli("sample", "--space", "RegNetX", "--n", "20", "--seed", "3", "--flops", "0.36G:400M")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 20 and all(360e6 <= r["flops"] <= 400e6 for r in rows)
    again = run_cli("sample", "--space", "RegNetX", "--n", "20", "--seed", "3", "--flops", "360e6:400e6")
    assert again.stdout == out.stdout
    csv_out = run_cli("sample", "--space", "AnyNetX_A", "--n", "5", "--format", "csv", "--flops", "360M:400M")
    assert csv_out.returncode == 0 and csv_out.stdout.splitlines()[0].startswith("index,flops,params,acts")
    assert len(csv_out.stdout.splitlines()) == 6
    spec_file = tmp_path / "mine.yaml"
    spec_file.write_text(get_space("RegNetX_constrained").yaml_text().replace("RegNetX_constrained", "mine"))
    custom = run_cli("sample", "--space", str(spec_file), "--n", "3", "--flops", "360M:400M")
    assert custom.returncode == 0 and len(custom.stdout.splitlines()) == 3


@pytest.mark.parametrize(
    "args,needle",
    [
        (["sample", "--space", "NoSuch", "--n", "3"], "space: unknown built-in 'NoSuch'"),
        (["sample", "--space", "RegNetX", "--n", "3", "--flops", "400M:360M"], "flops: low must be <= high"),
        (["sample", "--space", "RegNetX", "--n", "3", "--flops", "lots:400M"], "flops low: not a number"),
        (["sample", "--space", "RegNetX", "--n", "0"], "--n"),
        (["complexity", '{"type": "regnet", "depth": 13, "w0": 20, "wa": 36.44, "wm": 2.49, "group_w": 8}'],
         "w0: must be divisible by 8"),
        (["complexity", '{"type": "regnet", "depth": 13, "w0": 24, "wa": 36.44, "wm": 1.0, "group_w": 8}'],
         "wm: Input should be greater than 1"),
        (["complexity", '{"type": "regnet", "depth": -2, "w0": 24, "wa": 36.44, "wm": 2.0, "group_w": 8}'],
         "depth: Input should be greater than or equal to 1"),
        (["complexity", '{"type": "regnet", "depth": '], "spec: malformed JSON"),
        (["sample", "--space", "RegNetX", "--n", "3", "--flops", "1:2"], "regime: no model of RegNetX"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(args, needle):
    out = run_cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert needle in lines[0], lines[0]
    assert "Traceback" not in out.stderr

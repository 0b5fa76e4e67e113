"""The type checks `make lint` runs, held by the suite too: mypy over backend/, db/ and workers/ (strict for the pure
layers), tsc over the dashboard's ES modules, and frontend/types/api.d.ts equal to what /openapi.json gives now."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, missing_service

TSC = ROOT / "frontend" / "node_modules" / ".bin" / "tsc"


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_passes():
    out = run(sys.executable, "-m", "mypy")  # files, plugins and the strict layers: [tool.mypy] in pyproject.toml
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "Success: no issues found" in out.stdout


def test_tsc_passes_and_the_api_types_are_current():
    if not TSC.exists():
        missing_service("frontend/node_modules (npm ci --prefix frontend; `make test` installs it)")
    out = run(str(TSC), "--noEmit", "-p", "frontend")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    out = run(sys.executable, "scripts/api_types.py", "--check")
    assert out.returncode == 0, out.stderr[-4000:]


def test_every_es_module_opts_into_the_check():
    modules = sorted((ROOT / "frontend" / "js").rglob("*.js"))
    assert modules
    assert [m.name for m in modules if not m.read_text().startswith("// @ts-check\n")] == []

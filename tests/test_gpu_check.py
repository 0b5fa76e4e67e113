"""bench/gpu_check.py is run by hand on a lent GPU; this CPU smoke run keeps it from rotting in between.

It runs the real command line (`python -m bench.gpu_check --quick --cpu`) with $OUT set, as the GPU host
will, and reads back the JSON it writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # three interpreters start (parent + spawned workers): ~25-45 s on this 2-core box
def test_gpu_check_quick_cpu_runs_every_section(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "bench.gpu_check", "--quick", "--cpu", "--workers", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert set(report["sections"]) == {"throughput", "data", "workers"}
    assert all(isinstance(v, dict) for v in report["sections"].values())  # none skipped
    rows = {m: v for sec in report["sections"].values() for m, v, _ in sec["rows"]}
    assert any("bf16 NHWC" in m for m in rows) and any("fp32 NCHW" in m for m in rows)
    assert any("DataLoader" in m for m in rows) and any("on-device aug" in m for m in rows)
    assert any(m.startswith("models/hour, 1 worker(s)") for m in rows)
    assert any(m.startswith("models/hour, 2 worker(s)") for m in rows)
    assert all(v > 0 for v in rows.values())
    assert "| metric" in proc.stdout  # the table a person reads

"""docs/tutorial.md cannot rot: every command of its ```bash blocks is run.

Each bash block is marked `<!-- tutorial: digits -->` or `<!-- tutorial: fleet -->`. The digits blocks run
for real in a temporary directory (small N, the cpu-proxy recipe, real `netspace worker --once` training on CPU); the
fleet blocks run against a real PostgreSQL schema with fake CIFAR-10/ImageFolder directories (studies are
created and samples queued for real, nothing is trained). Commands that cannot run here — a worker without
--once/--max-jobs (a GPU fleet), `launch` (SLURM), `serve` (never exits) — are parsed by the CLI itself
(tests/refine_helpers.py dry_parse: option names, types, ranges) instead. A shell function named `netspace`
decides which, and logs every command, so the test also proves that no command was skipped.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from tutorial_helpers import blocks, chain_of, commands, run_blocks

from backend.study_spec import recipe_preset
from db.engine import make_engine


def test_every_block_is_marked_and_the_dry_parser_can_fail(tmp_path):
    assert len(blocks("digits")) >= 6 and len(blocks("fleet")) >= 4
    ok = subprocess.run([sys.executable, str(ROOT / "tests" / "refine_helpers.py"), "worker", "--device", "auto"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, str(ROOT / "tests" / "refine_helpers.py"), "worker", "--gpus", "8"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: No such option: --gpus")


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 7 real trainings: a minute on an idle 2-core CPU, far longer on a busy one
def test_digits_tutorial_runs_for_real(tmp_path):
    # One model per space and 2 of the recipe's 10 epochs: every command runs and every model trains for real
    # (refine inherits the first study's recipe); whether the models learn is the proxy benchmark's business.
    n, epochs = 1, 2
    proc, logged = run_blocks("digits", tmp_path, {"N": str(n), "EPOCHS": str(epochs)}, timeout=1000)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    expected = [c for b in blocks("digits") for c in commands(b)]
    assert len(logged) == len(expected) and all(line.split(" ", 1)[1].startswith("netspace ") for line in logged)
    assert [line.split()[0] for line in logged].count("dry") == 1  # only `serve`
    engine = make_engine(f"sqlite:///{tmp_path / 'tutorial.db'}")
    try:
        got = chain_of(engine)
    finally:
        engine.dispose()
    parents = {k: v["parent"] for k, v in got.items()}
    assert parents == {"A": None, "B": "A", "C": "B", "D": "C", "E": "D", "RegNetX": "E", "RegNetX-b1": "RegNetX"}
    for name, s in got.items():  # every sample trained by the real worker
        assert s["statuses"] == ["done"] * n and all(np.isfinite(e) for e in s["errors"]), name
        assert s["recipe"] == {**recipe_preset("cpu-proxy").model_dump(), "epochs": epochs}, name
        assert s["regime"] == {"flops": [None, 5e6]}, name
    assert got["RegNetX"]["space"]["family"] == "regnet"
    assert got["RegNetX-b1"]["space"]["params"]["b"]["law"] == "fixed"
    out = proc.stdout
    assert "in-sample estimate:" in out and "(widths fit the law: e_fit <= 0.1)" in out
    assert "created study RegNetX (id 6, child of E)" in out
    page = (tmp_path / "lineage.html").read_text()
    assert "Refinement chain: A → B → C → D → E → RegNetX (A n=1, " in page  # the chain, then its n per study
    assert re.search(r"^E +d_\(i\+1\) >= d_i +10 ", out, re.M)

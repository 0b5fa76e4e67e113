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

import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from sqlalchemy import select

from backend.study_spec import recipe_preset
from db.engine import make_engine
from db.models import jobs, models, studies

TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"<!-- tutorial: (digits|fleet) -->\n```bash\n(.*?)```", re.S)
PRELUDE = r"""
set -euo pipefail
netspace() {
  local mode=run
  case "$1" in
    serve|launch) mode=dry ;;
    worker) [[ " $* " == *" --once "* || " $* " == *" --max-jobs "* ]] || mode=dry ;;
  esac
  echo "$mode netspace $*" >> "$TUTORIAL_LOG"
  if [[ $mode == dry ]]; then "$PYTHON" "$DRY" "$@"; else command netspace "$@"; fi
}
"""


def blocks(kind: str) -> list[str]:
    text = TUTORIAL.read_text()
    found = BLOCK.findall(text)
    assert len(found) == text.count("```bash"), "every ```bash block needs a <!-- tutorial: digits|fleet --> mark"
    return [body for k, body in found if k == kind]


def commands(script: str) -> list[str]:
    """The netspace command lines of a script (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip().startswith("netspace ")]


def run_blocks(kind: str, cwd, env: dict[str, str], timeout: float) -> tuple[subprocess.CompletedProcess, list]:
    log = cwd / "commands.log"
    script = PRELUDE + "\n".join(blocks(kind))
    full_env = {**os.environ, **env, "TUTORIAL_LOG": str(log), "PYTHON": sys.executable,
                "DRY": str(ROOT / "tests" / "refine_helpers.py"),
                "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    full_env.pop("NETSPACE_DB", None)
    # its own session, so that a timeout stops the workers it started too, not only bash
    proc = subprocess.Popen(["bash", "-c", script], cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the {kind} tutorial did not finish in {timeout:.0f}s:\n{out[-3000:]}\n{err[-3000:]}")
    logged = log.read_text().splitlines() if log.exists() else []
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), logged


def test_every_block_is_marked_and_the_dry_parser_can_fail(tmp_path):
    assert len(blocks("digits")) >= 6 and len(blocks("fleet")) >= 4
    ok = subprocess.run([sys.executable, str(ROOT / "tests" / "refine_helpers.py"), "worker", "--device", "auto"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, str(ROOT / "tests" / "refine_helpers.py"), "worker", "--gpus", "8"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: No such option: --gpus")


def chain_of(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(studies)).mappings().all()
        by_id = {r["id"]: r for r in rows}
        out = {}
        for r in rows:
            st = [s for (s,) in conn.execute(select(jobs.c.status).join(models).where(models.c.study_id == r["id"]))]
            errs = [e for (e,) in conn.execute(select(models.c.error).where(models.c.study_id == r["id"]))]
            out[r["name"]] = {**r, "parent": by_id[r["parent_id"]]["name"] if r["parent_id"] else None,
                              "statuses": st, "errors": errs}
    return out


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


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fleet_commands_queue_the_chain_on_postgresql(pg_url, tmp_path):
    cifar = tmp_path / "cifar-10-batches-py"
    cifar.mkdir()
    for f in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"):  # every file the cifar10 entry requires
        (cifar / f).write_bytes(b"")
    imagenet = tmp_path / "imagenet"
    for split in ("train", "val"):
        for cls in ("n01440764", "n01443537", "n01484850"):
            (imagenet / split / cls).mkdir(parents=True)
    n = 6
    env = {"DB": pg_url, "CIFAR": str(cifar), "IMAGENET": str(imagenet), "FLEET_N": str(n)}
    proc, logged = run_blocks("fleet", tmp_path, env, timeout=900)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    expected = [c for b in blocks("fleet") for c in commands(b)]
    assert len(logged) == len(expected)
    assert sorted(line.split()[2] for line in logged if line.startswith("dry")) == ["launch", "worker"]
    engine = make_engine(pg_url)
    try:
        got = chain_of(engine)
        with engine.connect() as conn:
            flops = {name: [f for (f,) in conn.execute(select(models.c.flops).where(models.c.study_id == s["id"]))]
                     for name, s in got.items()}
    finally:
        engine.dispose()
    for prefix, classes, im_size, (lo, hi) in (("cifar", 10, 32, (7.3e6, 8.2e6)), ("in", 3, 224, (360e6, 400e6))):
        chain = [f"{prefix}-{s}" for s in ("A", "B", "C", "D", "E", "RegNetX")]
        assert [got[c]["parent"] for c in chain] == [None, *chain[:-1]]
        for c in chain:
            s = got[c]
            assert s["statuses"] == ["queued"] * n and s["num_classes"] == classes and s["im_size"] == im_size, c
            assert s["recipe"]["epochs"] == 10 and all(lo <= f <= hi for f in flops[c]), c
    assert (tmp_path / "cifar-lineage.html").exists() and (tmp_path / "imagenet-report.html").exists()

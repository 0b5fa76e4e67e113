"""Running docs/tutorial.md's bash blocks (tests/test_refine_tutorial*.py): the blocks, their netspace commands,
a shell that runs or dry-parses each one and logs it, and the refinement chain a run leaves in its database.

The digits and the fleet runs are two test files so that pytest-xdist (--dist loadfile) runs them side by side.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
from conftest import ROOT
from sqlalchemy import select

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

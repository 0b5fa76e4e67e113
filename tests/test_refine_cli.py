"""`netspace study`, `refine`, `lineage` and `size` on a real SQLite database: output and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli
from refine_helpers import train_synthetic

from backend.designspace.builtin import get_space
from backend.designspace.size import space_size
from backend.services.population import load_population
from db.engine import make_engine


@pytest.fixture
def db(sqlite_url, capsys):
    code, out, err = run_cli(capsys, "study", "--db", sqlite_url, "--name", "A", "--space", "AnyNetX_A",
                         "--flops", ":5M", "--epochs", "1", "--n", "40", "--seed", "2")
    assert code == 0, err
    assert out.strip() == "created study A (id 1, space AnyNetX_A) with 40 jobs queued"
    engine = make_engine(sqlite_url)
    train_synthetic(engine, 1)
    yield sqlite_url, engine
    engine.dispose()


def test_refine_preview_create_and_lineage(db, capsys, tmp_path):
    url, engine = db
    code, out, err = run_cli(capsys, "refine", "--db", url, "--study", "A", "--name", "B", "--share", "b", "--preview")
    assert code == 0, err
    pop = load_population(engine, 1, configs=True)
    inside = sum(len(set(c["bot_muls"])) == 1 for c in pop.configs)
    size = space_size(get_space("AnyNetX_B"))
    assert out.splitlines()[0] == "B: shared b (b_i = b)"
    assert f"in-sample estimate: {inside} of 40 finished parent models lie in B" in out
    assert f"dimension 13, size {size.exact:.3g} exact" in out and "created" not in out
    code, out, err = run_cli(capsys, "refine", "--db", url, "--study", "A", "--name", "B", "--share", "b", "--n", "6",
                         "--epochs", "2")
    assert code == 0, err
    assert out.strip().endswith("created study B (id 2, child of A) with 6 jobs queued")
    code, out, err = run_cli(capsys, "refine", "--db", url, "--study", "B", "--name", "C", "--share", "g",
                         "--narrow", "w=16:512", "--fix", "b=1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["study"]["parent_id"] == 2 and doc["study"]["recipe"]["epochs"] == 2
    assert doc["preview"]["child"]["constraint"] == "w in [16, 512]; shared g (g_i = g); b = 1"

    html = tmp_path / "lineage.html"
    code, out, err = run_cli(capsys, "lineage", "--db", url, "--study", "B", "--out", str(html))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["  A (AnyNetX_A; 40/40 trained)", "*   B (B; 0/6 trained)", "      C (C; 0/0 trained)"]
    assert any(line.startswith("B ") and "shared b (b_i = b)" in line and " 13 " in line for line in lines)
    assert lines[-1] == f"wrote {html}"
    page = html.read_text()
    assert "plotly" in page.lower() and "Refinement chain: A → B → C" in page
    code, out, err = run_cli(capsys, "lineage", "--db", url, "--study", "C", "--json")
    assert [s["name"] for s in json.loads(out)["steps"]] == ["A", "B", "C"]


@pytest.mark.parametrize("args, message", [
    (["--narrow", "wm"], "error: narrow: expected NAME=VALUE, got 'wm'"),
    (["--narrow", "w=9"], "error: narrow.w: need LOW:HIGH with both sides, e.g. 2:3 (got '9')"),
    (["--narrow", "zz=1:2"], "error: step.narrow.zz: unknown parameter; the space has ['d', 'w', 'b', 'g']"),
    (["--fix", "b=one"], "error: fix.b: could not convert string to float: 'one'"),
    (["--bestrange", "wm"], "error: bestrange: unknown parameter 'wm'; the space has ['d', 'w', 'b', 'g']"),
    (["--filter", "flops_max=1M"], "error: filter: none of its ranges is a parameter of space 'AnyNetX_A'"),
    (["--name", "A"], "error: name: a study named 'A' exists already"),
])
def test_refine_errors_are_one_line_exit_2(db, capsys, args, message):
    url, _ = db
    argv = ["refine", "--db", url, "--study", "A", "--name", "X", *args]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and err.startswith(message) and err.count("\n") == 1, err


def test_missing_database_study_and_size(capsys, tmp_path):
    code, _, err = run_cli(capsys, "lineage", "--db", f"sqlite:///{tmp_path / 'none.db'}", "--study", "A")
    assert code == 2 and err.startswith("error: db: no database at") and not (tmp_path / "none.db").exists()
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run_cli(capsys, "study", "--db", url, "--name", "A", "--space", "RegNetX")[0] == 0
    code, _, err = run_cli(capsys, "refine", "--db", url, "--study", "nope", "--name", "B")
    assert code == 2 and err.strip() == "error: study: no study named 'nope'"
    code, _, err = run_cli(capsys, "study", "--db", url, "--name", "A2", "--space", "RegNetX", "--flops", "5M")
    assert code == 2 and err.strip() == "error: flops: expected LO:HI, e.g. 360M:400M (got '5M')"
    # as a real process, too: the console entry point
    out = subprocess.run([sys.executable, "-m", "backend.cli", "size", "AnyNetX_D"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    exact = space_size(get_space("AnyNetX_D")).exact
    assert out.splitlines()[0] == f"AnyNetX_D: dimension 10, size {exact:,} exact ({exact:.2g}), 1.3e+13 as the " \
                                  "paper counts"


def test_an_imported_population_is_refined_from_a_named_base_space(db, capsys, tmp_path):
    url, engine = db
    dump = tmp_path / "a.jsonl"
    assert run_cli(capsys, "export", "--db", url, "--study", "A", "--format", "jsonl", "--out", str(dump))[0] == 0
    code, _, err = run_cli(capsys, "import", str(dump), "--study", "A-imported", "--db", url)
    assert code == 0, err
    code, _, err = run_cli(capsys, "refine", "--db", url, "--study", "A-imported", "--name", "X", "--share", "b",
                       "--preview")
    assert code == 2 and "error: base: study 'A-imported' has no design-space spec" in err
    answers = []
    for study, base in (("A", []), ("A-imported", ["--base", "AnyNetX_A"])):
        code, out, err = run_cli(capsys, "refine", "--db", url, "--study", study, "--name", "X", "--narrow", "d=1:8",
                             "--preview", "--json", *base)
        assert code == 0, err
        s = json.loads(out)["preview"]["in_sample"]
        answers.append((s["finished"], s["inside_finished"], s["child_stats"]))
    assert answers[0] == answers[1] and answers[0][0] == 40 and answers[0][1] > 0  # the same in-sample estimate


def test_refine_preview_gives_a_ks_p_value_only_from_twenty_per_side(db, capsys):
    """Below 20 models on a side the KS statistic is printed, its p-value is not (docs/statistics.md)."""
    url, _ = db
    lines = {}
    for narrow in ("w=16:64", "w=8:256"):
        code, out, err = run_cli(capsys, "refine", "--db", url, "--study", "A", "--name", "B", "--narrow", narrow,
                                 "--preview")
        assert code == 0, err
        lines[narrow] = next(line for line in out.splitlines() if line.startswith("    inside "))
    assert lines["w=16:64"].startswith("    inside   n=5 ")
    assert lines["w=16:64"].endswith("(no p-value: n=40 vs 5 < 20 per side)"), lines
    n = int(lines["w=8:256"].split()[1].removeprefix("n="))
    assert n >= 20 and re.search(r"KS \d\.\d{3} \(p=[\d.e-]+\)$", lines["w=8:256"]), lines

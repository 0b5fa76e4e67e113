"""Figure endpoints over a real uvicorn server (SQLite and PostgreSQL), and `netspace report` as a real CLI run
whose HTML opens offline in Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.services.studies import StudyIn, create_study
from db.engine import make_engine
from db.queue import claim_job, complete_job, register_worker

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("edf", "edf_normalized", "scatter", "widths", "e_fit", "complexity", "stats", "random_search", "curves",
         "importance", "lineage")


def make_finished_study(db_url: str, name: str, space: str, n: int, offset: float, seed: int) -> tuple[int, list]:
    """Create a study of n sampled models and finish every job as a worker does; returns (id, errors)."""
    engine = make_engine(db_url)
    try:
        sid = create_study(engine, StudyIn(name=name, space=space, n=n, seed=seed))["id"]
        wid = register_worker(engine, "cpu", worker_id=f"fig-test-{name}")
        rng = np.random.default_rng(seed)
        errors = []
        while (job := claim_job(engine, wid, study_id=sid)) is not None:
            curve = (np.linspace(60, 30, 6) + offset - 1.5 * np.log(job.flops / 1e6) + rng.normal(0, 1)).tolist()
            assert complete_job(engine, job.job_id, wid, {"test_error": curve, "train_error": [c - 4 for c in curve],
                                                          "infer_ms": 1e-7 * job.flops + 0.5})
            errors.append(min(curve))
        return sid, errors
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def studies(live_server):
    a = make_finished_study(live_server.db_url, "figs-regnet", "RegNetX", 24, 0.0, 1)
    b = make_finished_study(live_server.db_url, "figs-anynet", "AnyNetX_A", 20, 4.0, 2)
    return live_server, a, b


def legend(fig: dict) -> list[str]:
    return [t.get("name") for t in fig["data"] if t.get("name")]


def test_every_kind_for_one_study_and_an_overlay(studies):
    srv, (a, err_a), (b, _) = studies
    for kind in KINDS:
        # one bin: a single space's own extremes are the range's ends, which get no weight (as in NDS)
        params = {"param": "wm"} if kind == "scatter" else {"bins": 1} if kind == "edf_normalized" else {}
        r = srv.client.get(f"/api/studies/{a}/figures/{kind}", params=params)
        assert r.status_code == 200, (kind, r.text)
        fig = r.json()
        assert fig["layout"]["meta"]["kind"] == kind and fig["layout"]["meta"]["help"], kind
    fig = srv.client.get(f"/api/studies/{a}/figures/edf").json()
    assert f"figs-regnet n=24 | min {min(err_a):.3g} | mean {np.mean(err_a):.3g}" in legend(fig)
    r = srv.client.get("/api/figures/edf", params={"study": [a, b]})
    assert r.status_code == 200
    names = legend(r.json())
    assert any(n.startswith("figs-regnet n=24 |") for n in names)
    assert any(n.startswith("figs-anynet n=20 |") for n in names)
    stats = srv.client.get("/api/figures/stats", params={"study": [a, b]}).json()
    assert stats["layout"]["meta"]["pairs"][0]["a"] == "figs-regnet"
    widths = srv.client.get(f"/api/studies/{a}/figures/widths", params={"k": 2}).json()
    assert sum(1 for n in legend(widths) if n.startswith("figs-regnet best")) == 2
    curves = srv.client.get("/api/figures/curves", params={"study": [a, b], "k": 1}).json()
    assert sum(1 for n in legend(curves) if "(train)" not in n) == 4


def test_figure_kinds_listing(studies):
    srv, _, _ = studies
    kinds = srv.client.get("/api/figures").json()["kinds"]
    assert sorted(k["kind"] for k in kinds) == sorted(KINDS)
    norm = next(k for k in kinds if k["kind"] == "edf_normalized")
    assert norm["options"] == ["by", "bins", "log"] and norm["options_schema"]["bins"]["anyOf"][0]["maximum"] == 100
    assert next(k for k in kinds if k["kind"] == "scatter")["required"] == ["param"]


@pytest.mark.parametrize("path,params,field,text", [
    ("/api/studies/{a}/figures/pie", {}, "kind", "edf"),
    ("/api/studies/{a}/figures/edf_normalized", {"bins": 0}, "bins", "1"),
    ("/api/studies/{a}/figures/edf_normalized", {"bins": 100}, "bins", "holds no model"),
    ("/api/studies/{a}/figures/edf_normalized", {"by": "time"}, "by", "flops"),
    ("/api/studies/{a}/figures/scatter", {}, "param", "required"),
    ("/api/studies/{a}/figures/scatter", {"param": "bogus"}, "param", "not a population column"),
    ("/api/studies/{a}/figures/edf", {"bins": 3}, "bins", "takes"),
    ("/api/studies/{a}/figures/edf", {"colour": "red"}, "colour", ""),
    ("/api/studies/{a}/figures/widths", {"k": 51}, "k", "50"),
    ("/api/figures/edf", {}, "study", ""),
])
def test_bad_input_is_a_422_naming_the_field(studies, path, params, field, text):
    srv, (a, _), _ = studies
    r = srv.client.get(path.format(a=a), params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    fields = [d["field"] for d in body["detail"]]
    assert field in fields, body
    assert text in body["message"], body


def test_unknown_study_is_404(studies):
    srv, (a, _), _ = studies
    assert srv.client.get("/api/studies/999999/figures/edf").status_code == 404
    assert srv.client.get("/api/figures/edf", params={"study": [a, 999999]}).status_code == 404


# ----------------------------------------------------------------------------------------------------------
# netspace report

def run_cli(*args: str, env_db: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("NETSPACE_DB", None)
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{d / 'netspace.db'}"
    from db.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    make_finished_study(url, "rep-regnet", "RegNetX", 16, 0.0, 3)
    make_finished_study(url, "rep-anynet", "AnyNetX_A", 14, 4.0, 4)
    out = d / "report.html"
    res = run_cli("report", "--db", url, "--study", "rep-regnet", "--study", "rep-anynet", "--out", str(out),
                  "--k", "2")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"wrote {out} (") and "for 2 studies" in res.stdout
    return url, out


def test_report_is_self_contained(report):
    _, out = report
    page = out.read_text()
    # nothing to fetch: no external script or stylesheet (plotly.js itself mentions a CDN only for geo maps)
    assert "<script src=" not in page and 'src="http' not in page and "<link" not in page
    assert page.count("plotly.js v") >= 1 and page.count('class="plotly-graph-div"') >= 20
    for title in ("Statistics and KS tests", "Error EDF", "EDF normalised by flops", "Random search efficiency",
                  "Error vs wm", "Error vs flops", "Complexity", "Width curves: best and worst 2", "e_fit vs error",
                  "Training curves: best and worst 2", "Parameter importance"):
        assert f"<h2>{title}</h2>" in page, title
    assert "rep-regnet n=16 |" in page and "rep-anynet n=14 |" in page
    assert "how far a model&#x27;s widths are" in page  # help text under each figure


def test_report_bad_input_is_one_line_exit_2(report, tmp_path):
    url, _ = report
    res = run_cli("report", "--db", url, "--study", "nope", "--out", str(tmp_path / "r.html"))
    assert res.returncode == 2 and res.stderr.strip() == "error: study: no study named 'nope'"
    res = run_cli("report", "--db", f"sqlite:///{tmp_path / 'missing.db'}", "--study", "x")
    assert res.returncode == 2 and res.stderr.strip().startswith("error: db: no database at")
    res = run_cli("report", "--db", url, "--study", "rep-regnet", "--out", str(tmp_path / "no" / "r.html"))
    assert res.returncode == 2 and "out: directory" in res.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.browser
def test_report_renders_offline_in_chromium(report, browser_page):
    _, out = report
    page, console = browser_page
    blocked = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.goto(out.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 20")
    n_divs = page.evaluate("document.querySelectorAll('.plotly-graph-div').length")
    n_plotted = page.evaluate("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
    assert n_plotted and n_divs == page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
    assert page.evaluate("typeof Plotly") == "object" and not blocked
    console.assert_clean()

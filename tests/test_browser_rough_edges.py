"""The rough edges found walking through the dashboard as a new user (issue 17), one browser test each, in real
headless Chromium against a real uvicorn server on SQLite. Every test fails on any browser console error."""

from __future__ import annotations

import math
import re

import pytest
from conftest import wait_figures
from screens_helpers import EPOCHS, hash_query, seed

from backend.study_spec import recipe_preset

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ids(sqlite_server) -> dict[str, int]:
    return seed(sqlite_server)


def trace_colors(page, div: str, **match) -> list[str]:
    """Line colours of the traces of plot `div` whose properties equal `match` (e.g. showlegend)."""
    return page.evaluate("""([div, match]) => document.getElementById(div).data
        .filter(t => Object.entries(match).every(([k, v]) => (t[k] ?? true) === v))
        .map(t => t.line && t.line.color)""", [div, match])


def test_compare_names_a_study_without_finished_models(browser_page, sqlite_server, ids):
    page, console = browser_page
    a, b, empty = ids["regnet-a"], ids["anynet-b"], ids["empty"]
    page.goto(f"{sqlite_server.url}/#/compare?study={a}&study={b}&study={empty}")
    page.wait_for_selector("#stats-table tbody tr")
    wait_figures(page)
    page.wait_for_selector("#compare-dropped:not([hidden])")
    note = page.inner_text("#compare-dropped")
    assert "“empty”" in note and "no finished models" in note and "0 done" in note
    assert page.locator("#stats-table tbody tr").count() == 2
    # only the dropped one is named
    assert "regnet-a" not in note and "anynet-b" not in note
    console.assert_clean()


def test_normalised_edf_offers_the_bins_and_log_controls_its_message_asks_for(browser_page, sqlite_server, ids):
    page, console = browser_page
    a, b = ids["regnet-a"], ids["anynet-b"]
    with console.allow_http(422, "/api/figures/edf_normalized"):
        page.goto(f"{sqlite_server.url}/#/compare?study={a}&study={b}&by=params&bins=10")
        wait_figures(page, "#cmp-edf")
        page.wait_for_function("document.getElementById('cmp-edf_normalized').dataset.loaded === 'error'")
    card = page.locator(".plot-card", has=page.locator("#cmp-edf_normalized"))
    status = card.locator(".plot-status").inner_text()
    assert "use at most" in status and "log-spaced bins" in status
    # the help never names another complexity than the selector
    assert "flops" not in card.locator(".help-text").inner_text()
    assert page.input_value("#norm-bins") == "10" and not page.is_checked("#norm-log")
    # follow the message (it names the first study short of models in a bin) until the figure is drawn
    for _ in range(5):
        m = re.search(r"use at most (\d+) bins", status)
        assert m, status
        fewer = max(b for b in (2, 3, 4, 5, 6, 8) if b <= int(m[1]))
        done = page.eval_on_selector("#cmp-edf_normalized", "d => d.dataset.done | 0")
        with console.allow_http(422, "/api/figures/edf_normalized"):
            page.select_option("#norm-bins", str(fewer))
            page.wait_for_function("n => (document.getElementById('cmp-edf_normalized').dataset.done | 0) > n",
                                   arg=done)
        if page.eval_on_selector("#cmp-edf_normalized", "d => d.dataset.loaded") != "error":
            break
        status = card.locator(".plot-status").inner_text()
    assert hash_query(page)["bins"] == [str(fewer)]
    help_text = card.locator(".help-text").inner_text()
    assert "params" in help_text and f"{fewer} bins" in help_text
    # log-spaced bins are one click, kept in the URL
    page.check("#norm-log")
    page.wait_for_function("() => /[?&]log=1/.test(location.hash)")
    page.wait_for_function("() => (document.getElementById('cmp-edf_normalized').dataset.done | 0) >= 3")
    console.assert_clean()


def test_training_curves_legend_leaves_the_axis_free_and_best_worst_differ_in_colour(browser_page, sqlite_server,
                                                                                      ids):
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/study/{ids['regnet-a']}")
    page.wait_for_selector("main[data-rendered]")
    wait_figures(page, "#fig-curves")
    legend = page.locator("#fig-curves .legendtext").all_text_contents()
    assert len(legend) == 2 and "best 5" in legend[0] and "worst 5" in legend[1], legend
    best = set(page.evaluate("document.getElementById('fig-curves').data.filter(t => / best /.test(t.name) "
                             "&& t.line.dash === 'solid').map(t => t.line.color)"))
    worst = set(page.evaluate("document.getElementById('fig-curves').data.filter(t => / worst /.test(t.name) "
                              "&& t.line.dash === 'dot').map(t => t.line.color)"))
    assert len(best) == 5 and len(worst) == 5 and not best & worst
    leg = page.locator("#fig-curves .legend").bounding_box()
    title = page.locator("#fig-curves .xtitle").bounding_box()
    assert leg["y"] >= title["y"] + title["height"] - 1 or leg["y"] + leg["height"] <= title["y"], (leg, title)
    assert page.evaluate("document.getElementById('fig-curves')._fullLayout._size.h") > 200
    # no scroll box: Plotly's legend scrollbar, if drawn at all, has no height
    bars = [page.locator("#fig-curves .scrollbar").nth(i).bounding_box() for i in
            range(page.locator("#fig-curves .scrollbar").count())]
    assert all(b is None or b["height"] == 0 for b in bars), bars
    console.assert_clean()


def test_width_curves_label_both_panels_in_powers_of_two_and_clip_nothing(browser_page, sqlite_server, ids):
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/study/{ids['regnet-a']}")
    page.wait_for_selector("main[data-rendered]")
    wait_figures(page, "#fig-widths")
    for ax in ("ytick", "y2tick"):
        ticks = [t.strip() for t in page.locator(f"#fig-widths .{ax} text").all_text_contents()]
        assert ticks, f"no tick labels on {ax}"
        assert all(t.isdigit() and math.log2(int(t)).is_integer() for t in ticks), ticks
    fig = page.evaluate("""(() => { const gd = document.getElementById('fig-widths');
        const ys = gd._fullData.filter(t => t.mode === 'lines' && t.line.dash === 'solid')
            .flatMap(t => Array.from(t.y));
        return {lo: Math.min(...ys), hi: Math.max(...ys), n: ys.length,
                r1: gd._fullLayout.yaxis.range, r2: gd._fullLayout.yaxis2.range}; })()""")
    assert fig["n"] > 10 and fig["r1"] == fig["r2"]
    # every width line lies inside the panel (the padded range), w = 64 and the widest included
    assert fig["r1"][0] < math.log10(fig["lo"]) and fig["r1"][1] > math.log10(fig["hi"])
    best = set(trace_colors(page, "fig-widths", xaxis="x", mode="lines", showlegend=True))
    worst = set(trace_colors(page, "fig-widths", xaxis="x2", mode="lines", showlegend=True))
    assert len(best) == 5 and len(worst) == 5 and not best & worst, (best, worst)
    console.assert_clean()


def test_filter_panel_keeps_si_text_and_rejects_inverted_and_negative_ranges(browser_page, sqlite_server, ids):
    page, console = browser_page
    sid = ids["regnet-a"]
    page.goto(f"{sqlite_server.url}/#/study/{sid}?f.flops=..500000000")
    page.wait_for_selector("main[data-rendered]")
    assert page.input_value("#f-flops-hi") == "500M"  # not 500000000, which the input cuts off
    page.fill("#f-flops-hi", "2.5M")
    page.press("#f-flops-hi", "Enter")
    page.wait_for_function("() => location.hash.includes('f.flops=..2500000')")
    page.locator("#models").click(position={"x": 1, "y": 1})  # leave the input: it keeps what was typed
    assert page.input_value("#f-flops-hi") == "2.5M"
    rows_before = page.eval_on_selector("#models-table", "t => t.dataset.rows")
    assert rows_before != "60"

    # inverted: said beside the inputs, and nothing of it applies (not even the min)
    page.fill("#f-flops-lo", "5M")
    page.press("#f-flops-lo", "Enter")
    page.wait_for_selector("#f-flops-err:not([hidden])")
    assert "min must be ≤ max" in page.inner_text("#f-flops-err") and "not applied" in page.inner_text("#f-flops-err")
    page.wait_for_function("() => !location.hash.includes('f.flops')")
    page.wait_for_function("document.querySelector('#models-table').dataset.rows === '60'")
    assert page.get_attribute("#f-flops-lo", "aria-invalid") == "true"
    assert page.input_value("#f-flops-lo") == "5M"  # the text stays for the user to correct

    # negative depth: refused with the reason
    page.fill("#f-d-lo", "-5")
    page.press("#f-d-lo", "Enter")
    page.wait_for_selector("#f-d-err:not([hidden])")
    assert "never negative" in page.inner_text("#f-d-err")
    assert "f.d" not in hash_query(page)

    # corrected: applied, errors gone
    page.fill("#f-flops-lo", "1M")
    page.press("#f-flops-lo", "Enter")
    page.wait_for_function("() => location.hash.includes('f.flops=1000000..2500000')")
    assert page.is_hidden("#f-flops-err")
    page.click("#filter-reset")
    page.wait_for_function("() => document.getElementById('f-d-err').hidden && "
                           "document.getElementById('f-d-lo').value === ''")
    console.assert_clean()


def test_studies_slash_id_opens_that_study(browser_page, sqlite_server, ids):
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/studies/{ids['anynet-b']}")
    page.wait_for_selector("main[data-rendered]")
    assert page.inner_text("main h1") == "anynet-b"
    assert page.evaluate("document.querySelector('main').dataset.page") == "study"
    console.assert_clean()


def test_jobs_page_states_the_attempt_as_the_worker_does_with_duration_and_eta(browser_page, sqlite_server, ids):
    from db.engine import make_engine
    from db.queue import claim_job, record_epoch, register_worker

    page, console = browser_page
    engine = make_engine(sqlite_server.db_url)
    try:
        wid = register_worker(engine, "cpu", worker_id="eta-worker")
        job = claim_job(engine, wid, study_id=ids["waiting"])
        assert job is not None and job.attempt == 1
        for e in range(2):
            assert record_epoch(engine, job.job_id, wid, {"test_error": 50.0 - e})
    finally:
        engine.dispose()
    page.goto(f"{sqlite_server.url}/#/jobs")
    page.wait_for_selector("#jobs-table tbody tr")
    heads = page.locator("#jobs-table thead th").all_text_contents()
    col = {h: i for i, h in enumerate(heads)}
    done = page.locator("#jobs-table tbody tr[data-status=done]").first.locator("td")
    assert done.nth(col["Attempt"]).inner_text() == "1/3"
    assert re.fullmatch(r"\d+ (s|min)", done.nth(col["Time"]).inner_text())
    running = page.locator(f"#jobs-table tbody tr[data-job='{job.job_id}'] td")
    assert running.nth(col["Attempt"]).inner_text() == "1/3"
    assert re.fullmatch(r"\d+ (s|min), ≈ \d+(\.\d)? (s|min|h) left", running.nth(col["Time"]).inner_text())
    queued = page.locator("#jobs-table tbody tr[data-status=queued]").first.locator("td")
    assert queued.nth(col["Attempt"]).inner_text() == "–" and queued.nth(col["Time"]).inner_text() == "–"
    console.assert_clean()


def test_model_detail_labels_epochs_sparsely(browser_page, sqlite_server, ids):
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/study/{ids['regnet-a']}")
    page.wait_for_selector("main[data-rendered]")
    page.locator("#models-table tbody tr button.link").first.click()
    page.wait_for_selector("dialog[open] .xtick text")
    ticks = page.locator("dialog[open] .xtick text").all_text_contents()
    assert 3 <= len(ticks) <= 12 and all(t.isdigit() for t in ticks), ticks
    assert int(ticks[-1]) >= EPOCHS - 10
    console.assert_clean()


def test_queue_presets_say_what_they_set_and_warn_of_cpu_cost(browser_page, sqlite_server, ids):
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/queue")
    page.wait_for_selector("#new-study select option[value=RegNetX]", state="attached")
    proxy = recipe_preset("cpu-proxy")
    page.wait_for_function("() => document.getElementById('recipe-summary').textContent.includes('cpu-proxy')")
    summary = page.inner_text("#recipe-summary")
    assert f"{proxy.epochs} epochs, batch {proxy.batch_size}" in summary
    note = page.inner_text("#preset-note")
    assert "cpu-proxy" in note and f"{proxy.epochs} epochs" in note and "CPU core" in note
    assert page.is_hidden("#cost-note")
    assert page.input_value("#new-study input[data-field='recipe.epochs']") == str(proxy.epochs)

    page.select_option("select[aria-label='regime preset']", "400mf")
    page.wait_for_selector("#cost-note:not([hidden])")
    cost = page.inner_text("#cost-note")
    assert "224²" in cost and "CPU" in cost and "49×" in cost
    assert "paper's low-cost defaults" in page.inner_text("#recipe-summary")
    assert "224² images" in page.inner_text("#preset-note")

    # a recipe edited by hand is said to be edited
    page.click("#recipe-summary")
    page.fill("#new-study input[data-field='recipe.epochs']", "3")
    assert page.inner_text("#recipe-summary").startswith("Training recipe: edited (3 epochs")
    page.select_option("select[aria-label='regime preset']", "tiny")
    page.wait_for_function("() => document.getElementById('cost-note').hidden")
    console.assert_clean()


def test_n_zero_is_refused_by_both_forms_and_an_empty_n_creates_a_study_without_samples(browser_page, sqlite_server,
                                                                                         ids):
    page, console = browser_page
    c = sqlite_server.client
    page.goto(f"{sqlite_server.url}/#/queue")
    page.wait_for_selector("#new-study select option[value=RegNetX]", state="attached")
    page.fill("#new-study input[placeholder^='e.g.']", "n-rule")
    page.fill("input[name=new-n]", "0")
    page.click("#new-study button[type=submit]")
    err = page.locator("#new-study .field-error").first
    err.wait_for()
    assert "at least 1" in err.inner_text() and "leave it empty" in err.inner_text()
    assert "n-rule" not in [s["name"] for s in c.get("/api/studies").json()]

    page.wait_for_selector(f"#add-samples select option[value='{ids['empty']}']", state="attached")
    page.select_option("#add-samples select", str(ids["empty"]))
    page.fill("input[name=more-n]", "0")
    page.click("#add-samples button[type=submit]")
    err = page.locator("#add-samples .field-error").first
    err.wait_for()
    assert "at least 1" in err.inner_text()

    # the API holds the same rule (no form check in the way): 422 naming n and its range
    for url in ("/api/studies", f"/api/studies/{ids['empty']}/samples"):
        body = {"n": 0} if "samples" in url else {"name": "n-rule", "space": "RegNetX", "n": 0}
        r = c.post(url, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "n" and "[1, " in r.json()["message"]

    page.fill("input[name=new-n]", "")
    page.click("#new-study button[type=submit]")
    page.wait_for_selector("#queued-log li")
    made = [s for s in c.get("/api/studies").json() if s["name"] == "n-rule"]
    assert len(made) == 1 and made[0]["counts"]["models"] == 0
    console.assert_clean()

"""Learning failures in the dashboard (real Chromium, real server on SQLite): the table marks them, the EDF
legend counts them, the filter panel's checkbox leaves them out (URL, table, figures) — and the Queue page's
Tiny preset fills in the calibrated cpu-proxy recipe from GET /api/recipes."""

from __future__ import annotations

import pytest
from conftest import finish_jobs, wait_edf_n, wait_figures

from backend.study_spec import recipe_preset

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def study(sqlite_server) -> dict:
    """Six models: three learned, one did not learn, one diverged, one still queued."""
    r = sqlite_server.client.post("/api/studies", json={"name": "failures", "space": "RegNetX", "n": 6,
                                                         "regime": {"flops": [None, "20M"]}})
    assert r.status_code == 201, r.text
    s = r.json()
    url = sqlite_server.db_url
    finish_jobs(url, s["id"], [4.0, 6.5, 9.0], did_not_learn=False, initial_loss=2.3)
    finish_jobs(url, s["id"], [88.0], did_not_learn=True, initial_loss=2.3)
    finish_jobs(url, s["id"], [100.0], diverged=True, did_not_learn=False)
    return s


def test_failures_are_marked_counted_and_filtered(browser_page, sqlite_server, study):
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/study/{study['id']}")
    page.wait_for_selector("main[data-rendered]")
    wait_figures(page)
    table = page.locator("#models-table")
    assert table.get_attribute("data-rows") == "6"
    assert table.locator(".pill.failure", has_text="did not learn").count() == 1
    assert table.locator(".pill.failure", has_text="diverged").count() == 1
    wait_edf_n(page, 5)  # the EDF keeps its failures by default, and says how many
    legend = " | ".join(page.locator("#fig-edf .legendtext").all_text_contents())
    assert "n=5, 1 diverged, 1 did not learn" in legend, legend
    label = page.locator("label[for=filter-failures]")
    assert "1 diverged, 1 did not learn" in label.inner_text()

    page.check("#filter-failures")
    page.wait_for_function("document.querySelector('#models-table').dataset.rows === '4'")  # 3 learned + queued
    assert "failures=exclude" in page.url
    wait_edf_n(page, 3)
    assert page.locator("#models-table .pill.failure").count() == 0
    page.reload()  # the URL carries the filter
    page.wait_for_selector("main[data-rendered]")
    page.wait_for_function("document.querySelector('#models-table').dataset.rows === '4'")
    assert page.is_checked("#filter-failures")
    console.assert_clean()


def test_tiny_preset_fills_the_cpu_proxy_recipe(browser_page, sqlite_server):
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/queue")
    want = recipe_preset("cpu-proxy")
    epochs = page.locator("[data-field='recipe.epochs']")
    page.wait_for_function("v => document.querySelector(\"[data-field='recipe.epochs']\").value === v",
                           arg=str(want.epochs))
    assert page.locator("[data-field='recipe.batch_size']").input_value() == str(want.batch_size)
    assert float(page.locator("[data-field='recipe.wd']").input_value()) == want.wd
    assert page.locator("[data-field='recipe.warmup_epochs']").input_value() == str(want.warmup_epochs)
    zero_init = page.locator("input[name='recipe.zero_init_final_gamma']")
    assert want.zero_init_final_gamma and zero_init.is_checked()
    page.click("#recipe-summary")
    zero_init.uncheck()  # the box is part of the recipe: unticked, the preset's recipe is edited
    assert page.inner_text("#recipe-summary").startswith("Training recipe: edited")
    zero_init.check()
    assert "cpu-proxy" in page.inner_text("#recipe-summary")
    page.select_option("select[aria-label='regime preset']", "400mf")
    assert epochs.input_value() == ""  # the paper's preset: the recipe's defaults again
    assert not zero_init.is_checked()
    console.assert_clean()

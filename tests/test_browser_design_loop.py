"""The design loop in the dashboard (issue 17, items 1-4) in real headless Chromium against a real uvicorn
server on SQLite: refine a study with a preview and only then create the child, whose lineage shows; import an
NDS file through the Import page and open the new study; write a Markdown note and read it after a reload.

Populations are finished the way a worker finishes them (claim + complete), without training. Every test fails
on any browser console error; screenshots land in artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import ARTIFACTS, finish_jobs, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def anynet(sqlite_server) -> dict:
    """An AnyNetX_A study of 60 finished models (errors spread reproducibly)."""
    c = sqlite_server.client
    r = c.post("/api/studies", json={"name": "loop-a", "space": "AnyNetX_A", "dataset": {"name": "digits"},
                                     "im_size": 32, "regime": {"flops": [None, "20M"]}, "recipe": {"epochs": 2},
                                     "n": 60})
    assert r.status_code == 201, r.text
    s = r.json()
    finish_jobs(sqlite_server.db_url, s["id"], [round(10 + 7.0 * ((i * 37) % 60) / 60, 3) for i in range(60)])
    return s


def _facts(page) -> dict[str, str]:
    return {k: page.locator(f"#refine-facts [data-testid={k}]").inner_text()
            for k in ("child-constraint", "child-dimension", "child-size", "kept", "ks")}


def test_refine_with_preview_then_create_and_see_the_childs_lineage(browser_page, sqlite_server, anynet):
    page, console = browser_page
    base, sid = sqlite_server.url, anynet["id"]
    page.goto(f"{base}/#/study/{sid}?f.flops=..5000000")
    page.wait_for_selector("main[data-rendered]")
    page.wait_for_selector("[data-testid=lineage-parent]")
    assert page.locator("[data-testid=lineage-parent]").inner_text() == "none (a root)"
    page.click("#refine-link")
    page.wait_for_selector("#refine-kind option[value=share]", state="attached")
    assert page.locator("#refine-create").is_disabled()  # nothing to create before a preview
    # the study page's filter came along: "narrow to the current filter" is offered first; flops is no parameter
    # of AnyNetX_A, so the server's 422 (field `filter`) is shown beside that step
    assert page.input_value("#refine-kind") == "filter" and "flops ≤ 5M" in page.locator("main").inner_text()
    with console.allow_http(422, "/refine"):
        page.click("#refine-preview")
        page.wait_for_selector("div[data-field=filter] .field-error")
    assert "none of its ranges is a parameter" in page.locator("div[data-field=filter] .field-error").inner_text()

    # a bad range is refused beside its control, before any request
    page.select_option("#refine-kind", "narrow")
    page.select_option("#refine-param", "d")
    page.fill("#refine-low", "8")
    page.click("#refine-preview")
    err = page.locator("fieldset[data-field='step.narrow'] .field-error")
    assert "give both ends" in err.inner_text()
    # one the server refuses (no value of d in it) comes back as a 422 naming step.narrow.d, shown there too
    page.fill("#refine-low", "100")
    page.fill("#refine-high", "200")
    with console.allow_http(422, "/refine"):
        page.click("#refine-preview")
        page.wait_for_function("() => document.querySelector(\"fieldset[data-field='step.narrow'] .field-error\")"
                               "?.textContent.includes('holds none')")
    assert "step.narrow.d" in err.inner_text()

    # the bootstrap best range of d over the parent's 60 finished models: the preview names where it came from
    page.select_option("#refine-kind", "bestrange")
    page.select_option("#refine-param", "d")
    page.click("#refine-preview")
    page.wait_for_function("() => document.querySelector('#refine-facts')?.textContent.includes('(bestrange)')")
    assert re.search(r"d: [\d.]+–[\d.]+ \(bestrange\)", page.locator("#refine-facts").inner_text())

    # the switch to the RegNet law: a parent model is kept when the law reproduces its widths (e_fit)
    page.select_option("#refine-kind", "to_regnet")
    assert page.locator("#refine-efit").is_visible() and not page.locator("#refine-param").is_visible()
    page.click("#refine-preview")
    page.wait_for_function("() => document.querySelector('#refine-facts [data-testid=kept]')"
                           "?.textContent.includes('widths fit the law: e_fit ≤ 0.05')", timeout=60_000)
    assert page.locator("#refine-facts [data-testid=child-constraint]").inner_text().endswith(
        "quantized linear widths (RegNet law)")

    # share b: the preview says what the child keeps, before anything is queued
    jobs_before = sqlite_server.client.get("/api/jobs").json()["total"]
    page.select_option("#refine-kind", "share")
    assert not page.locator("fieldset[data-field='step.narrow']").is_visible()  # only this step's controls
    page.select_option("#refine-param", "b")
    page.click("#refine-preview")
    page.wait_for_function("() => document.querySelector('#refine-facts [data-testid=child-constraint]')"
                           "?.textContent.endsWith('shared b (b_i = b)')")
    page.wait_for_function("() => document.querySelector('#refine-plot')?.dataset.loaded === '3'")
    facts = _facts(page)
    expected = sqlite_server.client.post(f"/api/studies/{sid}/refine", json={
        "step": {"name": "x", "share": ["b"]}}).json()["preview"]
    s = expected["in_sample"]
    assert facts["child-constraint"].endswith("shared b (b_i = b)")
    assert facts["child-dimension"] == f"{expected['child']['size']['dimension']} (parent 16)"
    assert facts["kept"].startswith(f"{s['inside_finished']} of 60 finished")
    if s["p_value"] is None:  # fewer than 20 kept: the KS verdict is withheld, with the reason
        assert re.fullmatch(r"KS [\d.]+; KS p-value omitted: n=60 vs \d+ < 20 per side needed for a two-sample KS "
                            r"verdict", facts["ks"]), facts["ks"]
    else:
        assert re.search(r"p = [\d.e-]+$", facts["ks"])
    legend = " | ".join(page.locator("#refine-plot .legendtext").all_text_contents())
    assert "(parent) n=60" in legend and "in-sample estimate" in legend
    assert sqlite_server.client.get("/api/jobs").json()["total"] == jobs_before  # a preview queues nothing
    assert not page.locator("#refine-create").is_disabled()
    screenshot(page, "refine-preview")

    # changing the step after the preview disables create until previewed again
    page.select_option("#refine-param", "g")
    assert page.locator("#refine-create").is_disabled()
    page.select_option("#refine-param", "b")
    page.fill("#refine-name", "loop-a-shared-b")
    page.click("#refine-preview")
    page.wait_for_function("() => !document.querySelector('#refine-create').disabled")
    page.fill("#refine-n", "4")
    page.click("#refine-create")
    page.wait_for_function("() => /#\\/study\\/\\d+$/.test(location.hash) && !location.hash.endsWith('/' + "
                           f"{sid})")
    child = int(page.url.rsplit("/", 1)[1])
    page.wait_for_selector("[data-testid=lineage-parent] a")
    assert page.locator("[data-testid=lineage-parent]").inner_text() == "loop-a"
    assert page.locator("[data-testid=lineage-constraint]").inner_text() == "shared b (b_i = b)"
    assert sqlite_server.client.get(f"/api/studies/{child}").json()["counts"]["models"] == 4
    page.wait_for_selector("main[data-rendered]")
    screenshot(page, "refine-child-study")

    page.goto(f"{base}/#/lineage/{child}")
    page.wait_for_function("() => document.querySelector('#lineage-plot')?.dataset.loaded === '1'")
    rows = page.locator("#lineage-table tbody tr")
    assert rows.count() == 2
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(2)]
    assert cells[0][0] == "loop-a" and cells[0][4] == "60"
    assert cells[1][:2] == ["loop-a-shared-b", "shared b (b_i = b)"] and cells[1][4] == "0"
    assert page.locator("#lineage-plot .scatterlayer .trace").count() >= 1  # the parent's EDF (the child has none)
    screenshot(page, "lineage")
    page.goto(f"{base}/#/study/{sid}")  # the parent now lists its child
    page.wait_for_selector("[data-testid=lineage-children] a")
    assert "loop-a-shared-b (shared b (b_i = b))" in page.locator("[data-testid=lineage-children]").inner_text()
    console.assert_clean()


def test_import_an_nds_file_through_the_page_and_open_it(browser_page, sqlite_server, reference_dir, tmp_path):
    page, console = browser_page
    runs = json.loads((reference_dir / "nds" / "ResNeXt-A_in.json").read_text())[:40]
    bad = [dict(r) for r in runs]
    del bad[7]["min_test_top1"]
    bad_path = tmp_path / "ResNeXt-A-bad.json"
    bad_path.write_text(json.dumps(bad))
    page.goto(f"{sqlite_server.url}/#/import")
    page.wait_for_selector("#import-format option[value=nds]", state="attached")
    screenshot(page, "import")
    # a file with a bad record is refused (nothing imported), the record named beside the file input
    page.set_input_files("#import-file", str(bad_path))
    assert page.input_value("#import-name") == "ResNeXt-A-bad"
    with console.allow_http(422, "/api/studies/import"):
        page.click("#import-submit")
        page.wait_for_selector("#import-errors")
    assert "Record 7" in page.locator("#import-errors").inner_text()
    assert "min_test_top1" in page.locator("#import-file ~ .field-error, .field .field-error").first.inner_text()
    assert all(s["name"] != "ResNeXt-A-bad" for s in sqlite_server.client.get("/api/studies").json())
    # skipping bad records: the summary lists the one skipped; the study is there to open
    page.check("#import-skip")
    page.click("#import-submit")
    page.wait_for_selector("#import-summary")
    summary = page.locator("#import-summary").inner_text()
    assert "Skipped records (1)" in summary and "min_test_top1" in summary
    assert page.locator("#import-progress").evaluate("p => p.value === p.max")
    screenshot(page, "import-summary")
    page.click("#import-open")
    page.wait_for_selector("main[data-rendered]")
    page.wait_for_function("() => document.querySelector('main h1').textContent === 'ResNeXt-A-bad'")

    # a clean NDS file opens its new study as soon as it is imported
    good = tmp_path / "ResNeXt-A_in.json"
    good.write_text(json.dumps(runs))
    page.goto(f"{sqlite_server.url}/#/import")
    page.wait_for_selector("#import-format option[value=nds]", state="attached")
    page.set_input_files("#import-file", str(good))
    page.fill("#import-name", "nds-resnext-a")
    page.click("#import-submit")
    page.wait_for_function("() => location.hash.startsWith('#/study/')")
    page.wait_for_selector("main[data-rendered]")
    page.wait_for_function("() => document.querySelector('main h1').textContent === 'nds-resnext-a'")
    assert "40 of 40 models match" in page.locator(".filter-count").inner_text()
    # an imported population has no space of its own: the refine page asks which built-in space to refine
    page.click("#refine-link")
    page.wait_for_selector("#refine-base option[value=AnyNetX_A]", state="attached")
    assert page.locator("#refine-base").is_visible()
    page.select_option("#refine-base", "AnyNetX_A")
    page.wait_for_selector("#refine-kind option[value=share]", state="attached")
    page.select_option("#refine-kind", "share")
    page.select_option("#refine-param", "b")
    page.click("#refine-preview")
    page.wait_for_selector("#refine-facts [data-testid=kept]")
    assert page.locator("#refine-facts [data-testid=kept]").inner_text().startswith("0 of 40 finished")
    assert page.locator("#refine-facts [data-testid=ks]").inner_text() == (
        "KS omitted: no finished parent model lies in the child")
    console.assert_clean()


def test_a_note_is_written_rendered_safely_and_read_after_a_reload(browser_page, sqlite_server, anynet):
    page, console = browser_page
    url = f"{sqlite_server.url}/#/study/{anynet['id']}"
    page.goto(url)
    page.wait_for_selector(".notes-card")
    card = page.locator(".notes-card")
    card.get_by_role("button", name="Edit").click()
    text = ("# Why b\nShared **b** keeps the *best* models.\n\n- see `b=1`\n- <script>window.pwned=1</script>"
            "<img src=x onerror=window.pwned=2>\n\n[paper](https://arxiv.org/abs/2003.13678) "
            "[bad](javascript:alert(1))")
    page.fill(".notes-card textarea", text)
    card.get_by_role("button", name="Save note").click()
    page.wait_for_selector(".notes-card .note-body strong")
    page.reload()
    page.wait_for_selector(".notes-card .note-body strong")
    body = page.locator(".notes-card .note-body")
    assert body.locator("h3").inner_text() == "Why b"
    assert body.locator("strong").inner_text() == "b" and body.locator("em").inner_text() == "best"
    assert body.locator("li code").inner_text() == "b=1"
    assert "<script>window.pwned=1</script>" in body.inner_text()  # shown as typed, never run
    assert body.locator("script, img").count() == 0 and page.evaluate("() => window.pwned") is None
    assert body.locator("a").count() == 1 and body.locator("a").get_attribute("href").startswith("https://arxiv.org")
    assert "[bad](javascript:alert(1))" in body.inner_text()
    assert re.match(r"Last edited by local, .+ · 1 revision$", page.locator(".notes-card .note-byline").inner_text())
    screenshot(page, "study-notes")

    # a second revision; the history keeps both, newest first
    card.get_by_role("button", name="Edit").click()
    assert page.input_value(".notes-card textarea") == text
    page.fill(".notes-card textarea", "second thoughts")
    card.get_by_role("button", name="Save note").click()
    page.wait_for_function("() => document.querySelector('.notes-card .note-body').textContent === 'second thoughts'")
    page.reload()
    page.wait_for_selector(".notes-card .note-history summary")
    page.locator(".notes-card .note-history > summary").click()
    assert page.locator(".notes-card .note-history > summary").inner_text() == "History (2)"
    assert page.locator(".note-revisions > li").count() == 2
    # too long: the 422 lands beside the editor
    card.get_by_role("button", name="Edit").click()
    page.fill(".notes-card textarea", "x" * 100_001)
    with console.allow_http(422, "/notes"):
        card.get_by_role("button", name="Save note").click()
        page.wait_for_selector(".notes-card .field-error")
    assert "at most 100000 characters" in page.locator(".notes-card .field-error").inner_text().replace(",", "")

    # a model's note, in its dialog: saved, and there again when the dialog is opened after a reload
    models = sqlite_server.client.get(f"/api/studies/{anynet['id']}/models", params={"sort": "error"}).json()
    mid = models["items"][0]["id"]
    for attempt in range(2):
        if attempt:
            page.reload()
        page.wait_for_selector("main[data-rendered]")
        page.get_by_role("button", name=f"details of model {mid}", exact=True).click()
        dialog = page.get_by_role("dialog")
        dialog.locator(".notes-card").wait_for()
        if not attempt:
            dialog.get_by_role("button", name="Edit").click()
            dialog.locator("textarea").fill("the **best** one")
            dialog.get_by_role("button", name="Save note").click()
        dialog.locator(".note-body strong").wait_for()
        assert dialog.locator(".note-body").inner_text() == "the best one"
    assert sqlite_server.client.get(f"/api/models/{mid}/notes").json()["current"]["text"] == "the **best** one"
    dialog.screenshot(path=str(ARTIFACTS / "screenshots" / "model-notes.png"))  # the dialog alone
    console.assert_clean()

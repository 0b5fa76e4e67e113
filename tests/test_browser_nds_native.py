"""The Queue page offers an imported NDS study whose native space netspace has (and queues samples of it), and
shows a study without one disabled with the server's reason (real Chromium, real server on SQLite)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def _import(server, reference_dir, name: str, as_name: str | None = None) -> int:
    content = (reference_dir / "nds" / name).read_bytes()
    r = server.client.post("/api/studies/import", files={"file": (as_name or name, content)},
                           data={"study": f"browser-{(as_name or name).split('_')[0]}"})
    assert r.status_code == 201, r.text
    return r.json()["study_id"]


def test_queue_page_samples_an_imported_study_from_its_native_space(browser_page, sqlite_server, reference_dir):
    page, console = browser_page
    resnext = _import(sqlite_server, reference_dir, "ResNeXt-A_in.json")
    # a DARTS file named as a CIFAR-10 one: netspace has no CIFAR cell space, so no native space
    darts = _import(sqlite_server, reference_dir, "DARTS_in.json", "DARTS.json")
    # the study page's "Queue more" follows the same server rule: a link for the linked study, the reason for DARTS
    page.goto(f"{sqlite_server.url}/#/study/{resnext}")
    page.locator("a.btn", has_text="Queue more samples").wait_for()
    assert "samples the native space NDS_ResNeXt-A" in page.locator(".queue-more-why").inner_text()
    page.goto(f"{sqlite_server.url}/#/study/{darts}")
    page.locator("button.btn[disabled]", has_text="Queue more samples").wait_for()
    why = sqlite_server.client.get(f"/api/studies/{darts}").json()["why_not"]
    assert why and page.locator("#queue-more-why").inner_text() == why
    page.goto(f"{sqlite_server.url}/#/queue?study={resnext}")
    option = page.locator(f"#add-samples option[value='{resnext}']")
    option.wait_for(state="attached")
    assert option.text_content() == "browser-ResNeXt-A (NDS_ResNeXt-A)" and not option.is_disabled()
    other = page.locator(f"#add-samples option[value='{darts}']")
    assert other.is_disabled() and "no native space" in (other.get_attribute("title") or "")
    page.wait_for_function(f"document.querySelector('#add-samples select').value === '{resnext}'")
    page.fill("input[name='more-n']", "3")
    page.click("#add-samples button[type=submit]")
    page.wait_for_selector("text=watch the jobs")
    total = sqlite_server.client.get(f"/api/studies/{resnext}/models", params={"limit": 1}).json()["total"]
    assert total == 133
    console.assert_clean()


def test_queue_page_creates_a_study_of_a_cell_space(browser_page, sqlite_server):
    """The built-in menu comes from GET /api/spaces, so the cell family's specs are in it; the new study's page
    renders its queued cell models."""
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/queue")
    page.wait_for_selector("#new-study select option[value=NDS_DARTS]", state="attached")
    form = page.locator("#new-study")
    form.get_by_label("Study name").fill("browser-darts-cells")
    page.select_option("#new-study select[data-field=space]", "NDS_DARTS")
    assert "DARTS cell space" in page.locator("#space-desc").inner_text()
    form.get_by_label("Samples n", exact=True).fill("3")
    form.get_by_role("button", name="Create study and queue samples").click()
    page.locator("#queued-log li", has_text="browser-darts-cells").wait_for()
    assert "queued 3 new models" in page.locator("#queued-log").inner_text()
    study = next(s for s in sqlite_server.client.get("/api/studies").json() if s["name"] == "browser-darts-cells")
    assert (study["space"]["family"], study["counts"]["jobs"]["queued"]) == ("nds_cell", 3)
    page.goto(f"{sqlite_server.url}/#/study/{study['id']}")
    page.wait_for_selector("main[data-rendered]")
    console.assert_clean()

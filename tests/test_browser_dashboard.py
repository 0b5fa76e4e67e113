"""The dashboard in real headless Chromium against a real uvicorn server on SQLite.

Populations here are finished the way a worker finishes them (claim + complete through the queue) without
training, so these tests run in seconds; test_browser_e2e.py trains real models with a real worker.
Every test fails on any browser console error, and saves screenshots under artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
import zipfile
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from conftest import ROOT, finish_jobs, free_port, screenshot, wait_edf_n, wait_figures, wait_http

pytestmark = pytest.mark.browser

PAGES = ("studies", "study", "compare", "queue", "jobs")


def errors_for(n: int, base: float) -> list[float]:
    """Distinct, reproducible errors (%) with a spread, as a finished population would have."""
    return [round(base + 7.0 * ((i * 37) % n) / n, 3) for i in range(n)]


@pytest.fixture(scope="module")
def seeded(sqlite_server) -> dict:
    """Two finished studies (RegNetX 60 models, AnyNetX_A 40) and one with 5 queued jobs."""
    c = sqlite_server.client
    out = {}
    for name, space, n, base in (("regnet-a", "RegNetX", 60, 8.0), ("anynet-b", "AnyNetX_A", 40, 10.0),
                                 ("waiting", "RegNetX", 5, 0.0)):
        r = c.post("/api/studies", json={"name": name, "space": space, "dataset": {"name": "digits"}, "im_size": 32,
                                         "regime": {"flops": [None, "20M"]}, "recipe": {"epochs": 2}, "n": n})
        assert r.status_code == 201, r.text
        out[name] = r.json()
        if name != "waiting":
            finish_jobs(sqlite_server.db_url, out[name]["id"], errors_for(n, base))
    return out


def hash_query(page) -> dict[str, list[str]]:
    frag = urlsplit(page.url).fragment
    return parse_qs(frag.partition("?")[2])


def open_study(page, base: str, study_id: int, query: str = "") -> None:
    page.goto(f"{base}/#/study/{study_id}{'?' + query if query else ''}")
    page.wait_for_selector("main[data-rendered]")


def open_queue(page, base: str, space: str = "RegNetX"):
    """The Queue page with its built-in spaces loaded; returns the new-study form."""
    page.goto(f"{base}/#/queue")
    page.wait_for_selector(f"#new-study select option[value={space}]", state="attached")
    return page.locator("#new-study")


def match_count(page) -> tuple[int, int]:
    text = page.locator(".filter-count").inner_text()
    m = re.match(r"([\d,]+) of ([\d,]+) models match", text)
    assert m, text
    return int(m[1].replace(",", "")), int(m[2].replace(",", ""))


def edf_legend(page) -> str:
    return " | ".join(page.locator("#fig-edf .legendtext").all_text_contents())


def test_every_page_renders_without_console_errors(browser_page, sqlite_server, seeded):
    page, console = browser_page
    base, a, b = sqlite_server.url, seeded["regnet-a"]["id"], seeded["anynet-b"]["id"]
    page.goto(f"{base}/")
    page.wait_for_selector("#studies-table")
    assert page.locator("#studies-table tbody tr").count() == 3
    row = page.locator("#studies-table tr", has_text="regnet-a")
    assert "60 done" in row.inner_text()
    screenshot(page, "page-studies")

    open_study(page, base, a)
    wait_figures(page)
    assert match_count(page) == (60, 60)
    assert "n=60" in edf_legend(page)
    for card in page.locator(".plot-card").all():  # every plot says how to read it
        assert card.locator(".help").inner_text().startswith("How to read:")
        assert len(card.locator(".help-text").inner_text()) > 30
    screenshot(page, "page-study")

    page.goto(f"{base}/#/compare?study={a}&study={b}")
    page.wait_for_selector("#stats-table tbody tr")
    wait_figures(page)
    screenshot(page, "page-compare")

    open_queue(page, base)
    screenshot(page, "page-queue")

    page.goto(f"{base}/#/jobs")
    page.wait_for_selector("#jobs-table tbody tr")
    assert page.locator("#workers-table tbody tr").count() >= 1  # the test worker that finished the jobs
    screenshot(page, "page-jobs")
    console.assert_clean()


def test_flops_filter_drives_table_plots_export_and_url(browser_page, sqlite_server, seeded):
    page, console = browser_page
    c, base, sid = sqlite_server.client, sqlite_server.url, seeded["regnet-a"]["id"]
    flops = sorted(m["flops"] for m in c.get(f"/api/studies/{sid}/models", params={"limit": 1000}).json()["items"])
    cut = flops[len(flops) // 2]  # about half the models
    expected = c.get(f"/api/studies/{sid}/models", params={"flops_max": cut, "limit": 1}).json()["total"]
    assert 0 < expected < 60

    open_study(page, base, sid)
    wait_figures(page)
    page.fill("#f-flops-hi", str(cut))
    page.press("#f-flops-hi", "Enter")
    page.wait_for_function(f"document.querySelector('#models-table').dataset.rows === '{expected}'")
    assert match_count(page) == (expected, 60)
    assert hash_query(page)["f.flops"] == [f"..{cut}"]
    wait_edf_n(page, expected)
    wait_figures(page)

    with page.expect_download() as dl:
        page.click(".export-bar button[data-format=csv]")
    rows = list(csv.DictReader(io.StringIO(dl.value.path().read_text(encoding="utf-8"))))
    assert len(rows) == expected and all(float(r["flops"]) <= cut for r in rows)
    assert "flops_max" in dl.value.suggested_filename and dl.value.suggested_filename.endswith(".csv")

    with page.expect_download() as dl:
        page.click(".export-bar button[data-format=pycls]")
    with zipfile.ZipFile(dl.value.path()) as z:
        names = [n for n in z.namelist() if n.endswith((".yaml", ".yml"))]
        assert len(names) == expected
        cfg = yaml.safe_load(z.read(names[0]))
    assert cfg["MODEL"]["TYPE"] == "anynet" and len(cfg["ANYNET"]["DEPTHS"]) == 4
    assert cfg["TRAIN"]["IM_SIZE"] == 32 and cfg["MODEL"]["NUM_CLASSES"] == 10

    # the buttons are the export registry's formats (GET /api/formats), Parquet included
    buttons = page.locator(".export-bar button")
    served = sqlite_server.client.get("/api/formats").json()["exports"]
    assert [buttons.nth(i).get_attribute("data-format") for i in range(buttons.count())] == [
        f["name"] for f in served]
    with page.expect_download() as dl:
        page.click(".export-bar button[data-format=parquet]")
    assert dl.value.suggested_filename.endswith(".parquet") and dl.value.path().read_bytes()[:4] == b"PAR1"

    shared = page.url  # a shareable link reproduces the view in a fresh page
    page.goto("about:blank")
    page.goto(shared)
    page.wait_for_selector("main[data-rendered]")
    assert match_count(page) == (expected, 60)
    assert page.input_value("#f-flops-hi") == str(cut)
    screenshot(page, "study-filtered")
    console.assert_clean()


def test_box_selection_on_a_scatter_becomes_the_filter(browser_page, sqlite_server, seeded):
    page, console = browser_page
    c, base, sid = sqlite_server.client, sqlite_server.url, seeded["regnet-a"]["id"]
    open_study(page, base, sid, "x=d")
    wait_figures(page)  # a user drags on a settled page
    drag = page.locator("#scatter-plot .nsewdrag").first
    drag.scroll_into_view_if_needed()
    box = drag.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.02)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.98, steps=8)
    page.mouse.up()
    page.wait_for_function("location.hash.includes('f.d=')")
    q = hash_query(page)
    d_lo, d_hi = (float(v) for v in q["f.d"][0].split(".."))
    e_lo, e_hi = (float(v) for v in q["f.error"][0].split(".."))
    assert d_lo < d_hi and e_lo < e_hi
    expected = c.get(f"/api/studies/{sid}/models", params={"d_min": d_lo, "d_max": d_hi, "error_min": e_lo,
                                                           "error_max": e_hi, "limit": 1}).json()["total"]
    assert 0 < expected < 60
    page.wait_for_function(f"document.querySelector('#models-table').dataset.rows === '{expected}'")
    assert match_count(page)[0] == expected
    assert float(page.input_value("#f-d-lo")) == d_lo
    console.assert_clean()


def test_form_errors_show_beside_their_fields(browser_page, sqlite_server, seeded):
    page, console = browser_page
    form = open_queue(page, sqlite_server.url)
    form.get_by_label("Study name").fill("regnet-a")
    form.get_by_label("flops low").fill("9M")
    form.get_by_label("flops high").fill("5M")
    form.get_by_role("button", name="Create study and queue samples").click()
    assert "low must be ≤ high" in page.locator("#regime-flops-error").inner_text()
    assert form.get_by_label("flops low").get_attribute("aria-invalid") == "true"

    form.get_by_label("flops low").fill("")
    page.click("#new-study details summary")  # the recipe
    form.get_by_label("Epochs", exact=True).fill("0")
    with console.allow_http(422, "/api/studies"):
        form.get_by_role("button", name="Create study and queue samples").click()
        err = page.locator("#recipe-epochs-error")
        err.wait_for()
    assert "greater than or equal to 1" in err.inner_text() and "[1, 1000]" in err.inner_text()
    assert form.get_by_label("Epochs", exact=True).get_attribute("aria-invalid") == "true"
    assert page.locator("#regime-flops-error").count() == 0

    form.get_by_label("Epochs", exact=True).fill("2")  # > the Tiny preset's one warm-up epoch
    with console.allow_http(409, "/api/studies"):
        form.get_by_role("button", name="Create study and queue samples").click()
        name_err = page.locator("#name-error")
        name_err.wait_for()
    assert "exists already" in name_err.inner_text()
    screenshot(page, "queue-field-errors")
    assert sqlite_server.client.get("/api/studies").json().__len__() == len(seeded)  # nothing was written
    console.assert_clean()


def test_dataset_menu_is_the_dataset_registry(browser_page, sqlite_server, tmp_path):
    page, console = browser_page
    form = open_queue(page, sqlite_server.url)
    page.wait_for_selector("#new-study select[data-field='dataset.name'] option[value=cifar100]", state="attached")
    menu = form.locator("select[data-field='dataset.name'] option")
    served = sqlite_server.client.get("/api/datasets").json()
    assert [menu.nth(i).get_attribute("value") for i in range(menu.count())] == [d["name"] for d in served]
    assert form.get_by_label("Dataset path").is_hidden()  # digits: bundled, no path
    page.select_option("#new-study select[data-field='dataset.name']", "cifar100")
    assert form.get_by_label("Dataset path").get_attribute("placeholder") == "/data/cifar-100-python"
    assert "100 fine-label classes" in page.locator("#dataset-desc").inner_text()
    form.get_by_label("Study name").fill("c100-form")
    form.get_by_label("Dataset path").fill(str(tmp_path / "nope"))
    with console.allow_http(422, "/api/studies"):
        form.get_by_role("button", name="Create study and queue samples").click()
        err = page.locator("#dataset-path-error")
        err.wait_for()
    assert "dataset 'cifar100' not found" in err.inner_text()
    console.assert_clean()


def test_custom_spec_is_checked_inline(browser_page, sqlite_server):
    page, console = browser_page
    open_queue(page, sqlite_server.url)
    page.select_option("#new-study select[data-field=space]", "RegNetX")
    page.get_by_role("button", name="Edit a copy as a custom spec").click()
    check = page.locator("#spec-check")
    check.get_by_text("valid regnet space").wait_for()
    spec = page.locator("textarea[data-field=space]")
    spec.fill(spec.input_value().replace('"low": 8,', '"low": 9,', 1))
    check.locator("li", has_text="params.w0").wait_for()
    assert "multiples of q=8" in check.inner_text()
    console.assert_clean()


def test_queue_form_then_jobs_page_cancel_and_requeue(browser_page, sqlite_server, seeded):
    page, console = browser_page
    form = open_queue(page, sqlite_server.url, "AnyNetX_A")
    form.get_by_label("Study name").fill("from-the-form")
    page.select_option("#new-study select[data-field=space]", "AnyNetX_A")
    form.get_by_label("Samples n", exact=True).fill("4")
    form.get_by_role("button", name="Create study and queue samples").click()
    page.locator("#queued-log li", has_text="from-the-form").wait_for()
    assert "queued 4 new models" in page.locator("#queued-log").inner_text()
    study = next(s for s in sqlite_server.client.get("/api/studies").json() if s["name"] == "from-the-form")
    assert study["counts"]["jobs"]["queued"] == 4 and study["space_name"] == "AnyNetX_A"

    page.locator("#queued-log a", has_text="watch the jobs").click()
    page.wait_for_selector("#jobs-table tbody tr")
    rows = page.locator("#jobs-table tbody tr")
    assert rows.count() == 4 and all("queued" in t for t in rows.all_inner_texts())
    first = rows.first
    job_id = first.get_attribute("data-job")
    first.get_by_role("button", name=f"cancel job {job_id}").click()
    page.wait_for_selector(f"#jobs-table tr[data-job='{job_id}'][data-status=cancelled]")
    page.get_by_role("button", name=f"re-queue job {job_id}").click()
    page.wait_for_selector(f"#jobs-table tr[data-job='{job_id}'][data-status=queued]")
    assert sqlite_server.client.get(f"/api/jobs/{job_id}").json()["status"] == "queued"
    console.assert_clean()


def test_compare_two_studies(browser_page, sqlite_server, seeded):
    page, console = browser_page
    a, b = seeded["regnet-a"]["id"], seeded["anynet-b"]["id"]
    page.goto(f"{sqlite_server.url}/#/studies")
    page.wait_for_selector("#studies-table")
    page.get_by_label("select regnet-a for comparison").check()
    page.get_by_label("select anynet-b for comparison").check()
    page.get_by_role("button", name="Compare selected (2)").click()
    page.wait_for_selector("#stats-table tbody tr")
    assert sorted(hash_query(page)["study"]) == sorted([str(a), str(b)])
    stats = {r.locator("th").inner_text(): r.locator("td").first.inner_text()
             for r in page.locator("#stats-table tbody tr").all()}
    assert stats == {"regnet-a": "60", "anynet-b": "40"}
    assert page.locator("#ks-table tbody tr").count() == 1
    wait_figures(page)
    legend = " | ".join(page.locator("#cmp-edf .legendtext").all_text_contents())
    assert "regnet-a n=60" in legend and "anynet-b n=40" in legend
    console.assert_clean()


def test_finished_job_appears_live_within_two_seconds(browser_page, sqlite_server, seeded):
    page, console = browser_page
    sid = seeded["waiting"]["id"]
    open_study(page, sqlite_server.url, sid)
    page.wait_for_function("document.querySelector('#models-table').dataset.rows === '5'")
    assert "5 queued" in page.locator(".study-progress").inner_text()
    page.wait_for_timeout(800)  # the event stream is open
    finish_jobs(sqlite_server.db_url, sid, [4.5])
    t0 = time.monotonic()  # the job is finished (committed) from here on
    page.locator(".study-progress", has_text="1 done").wait_for(timeout=5000)
    page.locator("#models-table tbody tr", has_text="done").first.wait_for(timeout=5000)
    wait_edf_n(page, 1, timeout=5000)
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0, f"the finished job took {elapsed:.2f} s to show"
    assert page.locator("#models-table tbody tr").first.locator("td").nth(2).inner_text() == "4.50"
    console.assert_clean()


def test_demo_offer_on_an_empty_database(browser_page, server_factory, sqlite_url):
    page, console = browser_page
    srv = server_factory(sqlite_url)
    page.goto(f"{srv.url}/")
    page.get_by_role("heading", name="No studies yet").wait_for()
    screenshot(page, "page-studies-empty")
    page.get_by_role("button", name="Start the demo").click()
    page.wait_for_selector("#studies-table tbody tr >> nth=1")
    text = page.locator("#studies-table").inner_text()
    assert "demo RegNetX" in text and "demo AnyNetX_A" in text and text.count("24 queued") == 2
    # no worker runs for this server: the banner does not claim that training is under way
    banner = page.locator("#banner").inner_text()
    assert "No worker is running" in banner and "netspace worker" in banner and "training them now" not in banner
    assert "48 queued jobs wait" in page.get_by_test_id("no-worker").inner_text()
    console.assert_clean()


def test_no_worker_notice_while_jobs_wait_gone_once_a_worker_registers(browser_page, server_factory, sqlite_url):
    from db.engine import make_engine
    from db.queue import register_worker, unregister_worker

    page, console = browser_page
    srv = server_factory(sqlite_url)
    r = srv.client.post("/api/studies", json={"name": "nobody-trains", "space": "RegNetX", "n": 3,
                                               "dataset": {"name": "digits"}, "regime": {"flops": [None, "20M"]}})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert srv.client.get("/api/health").json()["workers_alive"] == 0
    pages = ("studies", f"study/{sid}", "jobs")
    for path in pages:
        page.goto(f"{srv.url}/#/{path}")
        notice = page.get_by_test_id("no-worker")
        notice.wait_for()
        text = notice.inner_text()
        assert text.startswith("No worker is running") and "3 queued jobs wait" in text, (path, text)
        assert "netspace worker --db" in text, text
    screenshot(page, "no-worker-notice")
    engine = make_engine(srv.db_url)
    try:
        wid = register_worker(engine, "cpu", worker_id="browser-test-worker")  # what every worker does at start
        page.get_by_test_id("no-worker").wait_for(state="detached", timeout=5000)  # the open page (jobs) updates
        assert srv.client.get("/api/health").json()["workers_alive"] == 1
        for path, ready in zip(pages, ("#studies-table", "main[data-rendered]", "#workers-table"), strict=True):
            page.goto(f"{srv.url}/#/{path}")
            page.wait_for_selector(ready)
            page.wait_for_load_state("networkidle")
            assert page.get_by_test_id("no-worker").count() == 0, path
        unregister_worker(engine, wid)  # the worker stops: the notice is back
        page.get_by_test_id("no-worker").wait_for(timeout=5000)
    finally:
        engine.dispose()
    console.assert_clean()


def test_controls_are_labelled_keyboard_reachable_and_fit_small_screens(browser_page, sqlite_server, seeded):
    page, console = browser_page
    base, sid = sqlite_server.url, seeded["regnet-a"]["id"]
    unlabelled_js = """() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(el => !el.closest('[hidden]') && !el.closest('.modebar') && el.type !== 'hidden')
        .filter(el => !((el.labels && el.labels.length) || el.getAttribute('aria-label')
                        || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim())))
        .map(el => el.outerHTML.slice(0, 120))"""
    for width in (1400, 820):
        page.set_viewport_size({"width": width, "height": 900})
        for path in ("studies", f"study/{sid}", "queue", "jobs", f"compare?study={sid}"):
            page.goto(f"{base}/#/{path}")
            page.wait_for_load_state("networkidle")
            if path.startswith("study/"):
                page.wait_for_selector("main[data-rendered]")
            assert page.evaluate(unlabelled_js) == [], path
            overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at {width}px"
        screenshot(page, f"study-compare-{width}px")
    open_queue(page, base)
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent.trim() || document.activeElement.id"))
    assert "Skip to content" in focused and "Queue" in focused and "Jobs & workers" in focused
    console.assert_clean()


def _serve(db_url: str, port: int, log) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "backend.api.app:app_factory", "--factory", "--port",
                             str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "1"],
                            cwd=ROOT, env={**os.environ, "NETSPACE_DB": db_url}, stdout=log, stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/api/health", 60, proc)
    return proc


def test_event_stream_reconnects_after_a_server_restart(browser_page, sqlite_url, tmp_path):
    page, console = browser_page
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "server.log").open("w") as log:
        proc = _serve(sqlite_url, port, log)
        try:
            page.goto(f"{base}/#/studies")
            page.locator("#live", has_text="live").wait_for()
            with console.allow_http("net::ERR_", "/api/events"):
                proc.terminate()
                proc.wait(15)
                page.locator("#live", has_text="reconnecting").wait_for(timeout=15_000)
                proc = _serve(sqlite_url, port, log)
                page.locator("#live.live-live").wait_for(timeout=20_000)
            r = httpx.post(f"{base}/api/studies", json={"name": "after-restart", "space": "RegNetX", "n": 2,
                                                        "regime": {"flops": [None, "5M"]}})
            assert r.status_code == 201, r.text
            page.locator("#studies-table tr", has_text="after-restart").wait_for(timeout=5_000)  # no reload
        finally:
            proc.terminate()
            proc.wait(15)
    console.assert_clean()


def test_delete_asks_first_and_token_protected_writes_prompt_for_the_token(browser_page, server_factory, sqlite_url):
    page, console = browser_page
    srv = server_factory(sqlite_url, log_level="info", NETSPACE_TOKEN="s3cret-token")
    auth = {"Authorization": "Bearer s3cret-token"}
    for name in ("keep-me", "drop-me"):
        r = srv.client.post("/api/studies", headers=auth, json={"name": name, "space": "RegNetX", "n": 2,
                                                                "regime": {"flops": [None, "5M"]}})
        assert r.status_code == 201, r.text
    page.goto(f"{srv.url}/#/studies")  # reads are open
    page.wait_for_selector("#studies-table tbody tr >> nth=1")

    page.get_by_role("button", name="delete drop-me").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert page.locator("#studies-table tbody tr").count() == 2

    with console.allow_http(401, "/api/studies/"):
        page.get_by_role("button", name="delete drop-me").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        page.get_by_label("Access token").fill("s3cret-token")  # the write was refused: the banner asks
    page.get_by_role("button", name="Use token").click()
    page.wait_for_selector("#studies-table tbody tr >> nth=1")
    page.get_by_role("button", name="delete drop-me").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.wait_for_function("document.querySelectorAll('#studies-table tbody tr').length === 1")
    assert [s["name"] for s in srv.client.get("/api/studies").json()] == ["keep-me"]
    # with the token stored, the live stream opens with a ticket: the token is in no URL and not in the log
    with page.expect_request(lambda r: "/api/events?" in r.url) as stream:
        page.reload()
    assert "ticket=" in stream.value.url and "s3cret-token" not in stream.value.url
    page.wait_for_selector("#studies-table tbody tr")
    assert "GET /api/events?ticket=***" in srv.log and "s3cret-token" not in srv.log
    console.assert_clean()


def test_small_n_study_states_n_and_why_statistics_are_absent(browser_page, server_factory, sqlite_url):
    """At n = 8 no trend, best range, importance or fit is drawn: every figure says n=8 and why (issue 14)."""
    page, console = browser_page
    srv = server_factory(sqlite_url)
    r = srv.client.post("/api/studies", json={"name": "eight", "space": "RegNetX", "dataset": {"name": "digits"},
                                               "regime": {"flops": [None, "20M"]}, "n": 8})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    finish_jobs(srv.db_url, sid, errors_for(8, 10.0))
    open_study(page, srv.url, sid)
    wait_figures(page)
    for kind in ("edf", "importance", "complexity", "curves", "widths"):
        note = page.locator(".plot-card", has=page.locator(f"#fig-{kind}")).locator(".plot-status").inner_text()
        assert note == "n=8", (kind, note)
    importance = " ".join(page.locator("#fig-importance .annotation-text").all_text_contents())
    assert "permutation importance omitted: n=8 < 40 needed for a held-out R^2" in importance, importance
    assert "correlation omitted: n=8 < 10" in importance
    fits = " ".join(page.locator("#fig-complexity .annotation-text").all_text_contents())
    assert "acts vs flops (n=8)" in fits and "fitted law omitted: n=8 < 20" in fits, fits
    # every scatter panel: its n and why the trend and the best range are absent, and neither is drawn
    scatter = page.locator("#scatter-plot .annotation-text", has_text="trend omitted")
    scatter.first.wait_for()
    panels = page.eval_on_selector("#scatter-plot", "d => d.layout.annotations.map(a => [a.text, a.hovertext])")
    assert len(panels) == 4 and all(t == "n=8<br>trend omitted: n=8 < 30<br>best range omitted: n=8 < 20"
                                     for t, _ in panels), panels  # short in the panel, the whole reason on hover
    assert all("needed for a binned median (3 bins of >= 10 models)" in why for _, why in panels), panels
    drawn = page.eval_on_selector("#scatter-plot", "d => d.data.filter(t => t.mode !== 'markers').length"
                                                   " + (d.layout.shapes || []).length")
    assert drawn == 0
    screenshot(page, "study-small-n")
    console.assert_clean()

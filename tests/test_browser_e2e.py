"""End to end in real Chromium with a real worker: a study created through the Queue form is trained on digits
(1 epoch, tiny regime) by `netspace worker`, the models finish live on the study page, the EDF reports n = 4,
a flops filter drives the table and the CSV / pycls downloads, and two studies are compared."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile

import pytest
import yaml
from conftest import ROOT, screenshot, wait_edf_n, wait_figures

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]

TRAIN_TIMEOUT_MS = 600_000  # 4 tiny models (<= 1 MF), 1 epoch each, on a shared 2-core CPU


@pytest.fixture
def worker(sqlite_server, tmp_path):
    """One real CPU worker process on the server's database (the training loop of workers/)."""
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker", "--db", sqlite_server.db_url,
                             "--device", "cpu"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def queue_through_the_form(page, base: str, name: str, space: str) -> None:
    page.goto(f"{base}/#/queue")
    form = page.locator("#new-study")
    page.wait_for_selector(f"#new-study select option[value={space}]", state="attached")
    form.get_by_label("Study name").fill(name)
    page.select_option("#new-study select[data-field=space]", space)
    page.select_option("#new-study select[aria-label='regime preset']", "tiny")
    form.get_by_label("flops high").fill("1M")  # the tiniest models: minutes of CPU for all four
    page.click("#new-study details summary")
    form.get_by_label("Epochs", exact=True).fill("1")
    form.get_by_label("Warm-up epochs", exact=True).fill("0")  # the Tiny preset's warm-up needs 2+ epochs
    form.get_by_label("Samples n", exact=True).fill("4")
    form.get_by_role("button", name="Create study and queue samples").click()
    page.locator("#queued-log li", has_text=name).wait_for()


def test_queue_train_watch_filter_download_compare(browser_page, sqlite_server, worker):
    page, console = browser_page
    base, c = sqlite_server.url, sqlite_server.client

    # a bad value first: the field says what is wrong, nothing is created
    page.goto(f"{base}/#/queue")
    form = page.locator("#new-study")
    form.get_by_label("Study name").fill("never")
    form.get_by_label("flops low").fill("6M")
    form.get_by_label("flops high").fill("5M")
    form.get_by_role("button", name="Create study and queue samples").click()
    assert "low must be ≤ high" in page.locator("#regime-flops-error").inner_text()
    assert c.get("/api/studies").json() == []

    queue_through_the_form(page, base, "e2e-regnetx", "RegNetX")
    screenshot(page, "e2e-queue")
    page.locator("#queued-log a", has_text="e2e-regnetx").click()
    page.wait_for_selector("main[data-rendered]")
    screenshot(page, "e2e-study-queued")
    # the worker trains them; the page updates itself (no reload) until all four are done
    page.locator(".study-progress", has_text="4 done").wait_for(timeout=TRAIN_TIMEOUT_MS)
    wait_edf_n(page, 4, timeout=30_000)
    sid = next(s["id"] for s in c.get("/api/studies").json() if s["name"] == "e2e-regnetx")
    models = c.get(f"/api/studies/{sid}/models", params={"sort": "flops"}).json()["items"]
    assert len(models) == 4 and all(m["status"] == "done" and 0 <= m["error"] <= 100 for m in models)
    wait_figures(page)  # every statistics figure of the trained study draws (each loads when scrolled to)
    screenshot(page, "e2e-study-done")

    cut = models[1]["flops"]  # keeps the two smallest models
    page.fill("#f-flops-hi", str(cut))
    page.press("#f-flops-hi", "Enter")
    page.wait_for_function("document.querySelector('#models-table').dataset.rows === '2'")
    wait_edf_n(page, 2)
    with page.expect_download() as dl:
        page.click(".export-bar button[data-format=csv]")
    rows = list(csv.DictReader(io.StringIO(dl.value.path().read_text(encoding="utf-8"))))
    assert sorted(int(r["id"]) for r in rows) == sorted(m["id"] for m in models[:2])
    assert all(float(r["error"]) == next(m["error"] for m in models if m["id"] == int(r["id"])) for r in rows)
    with page.expect_download() as dl:
        page.click(".export-bar button[data-format=pycls]")
    with zipfile.ZipFile(dl.value.path()) as z:
        cfgs = [yaml.safe_load(z.read(n)) for n in z.namelist() if n.endswith((".yaml", ".yml"))]
    assert len(cfgs) == 2 and all(cfg["MODEL"]["TYPE"] == "anynet" for cfg in cfgs)
    assert {cfg["REGNET"]["DEPTH"] for cfg in cfgs} == {m["d"] for m in models[:2]}
    screenshot(page, "e2e-study-filtered")

    queue_through_the_form(page, base, "e2e-anynet", "AnyNetX_A")
    page.goto(f"{base}/#/jobs")
    page.wait_for_selector("#workers-table tbody tr")
    assert "cpu" in page.locator("#workers-table").inner_text()
    screenshot(page, "e2e-jobs")
    page.goto(f"{base}/#/studies")
    page.locator("#studies-table tr", has_text="e2e-anynet").locator("text=4 done").wait_for(timeout=TRAIN_TIMEOUT_MS)
    screenshot(page, "e2e-studies")
    page.get_by_label("select e2e-regnetx for comparison").check()
    page.get_by_label("select e2e-anynet for comparison").check()
    page.get_by_role("button", name="Compare selected (2)").click()
    page.wait_for_selector("#stats-table tbody tr")
    stats = {r.locator("th").inner_text(): r.locator("td").first.inner_text()
             for r in page.locator("#stats-table tbody tr").all()}
    assert stats == {"e2e-regnetx": "4", "e2e-anynet": "4"}
    page.wait_for_function("[...document.querySelectorAll('#cmp-edf .legendtext')].length >= 2")
    wait_figures(page)
    screenshot(page, "e2e-compare")
    console.assert_clean()

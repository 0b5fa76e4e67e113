"""A small dashboard population for the theme, parallel-coordinates and rough-edge browser tests and for
scripts/screenshots.py: studies finished the way a worker finishes them (claim + complete, with per-epoch
curves), one still queued, one with no models at all; and a walk over every page that screenshots it."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlsplit

from conftest import ARTIFACTS, screenshot, wait_figures

EPOCHS = 50


def curve(final: float, epochs: int = EPOCHS) -> list[float]:
    """A test-error curve that falls from near chance (90%) to `final` (percent) over `epochs` epochs."""
    return [round(final + (90.0 - final) * math.exp(-5.0 * e / epochs), 3) for e in range(epochs)]


def finish_with_curves(db_url: str, study_id: int, errors: list[float], epochs: int = EPOCHS) -> None:
    """Finish a study's queued jobs as one worker would, each with its own `epochs`-long curve."""
    from db.engine import make_engine
    from db.queue import claim_job, complete_job, register_worker

    engine = make_engine(db_url)
    try:
        wid = register_worker(engine, "cpu", worker_id=f"screens-worker-{study_id}")
        for e in errors:
            job = claim_job(engine, wid, study_id=study_id)
            assert job is not None, "no queued job left to finish"
            c = curve(e, epochs)
            values = {"error": min(c), "test_error": c, "train_loss": [v / 40 for v in c], "train_seconds": 3.0 + e,
                      "infer_ms": 1.25}
            assert complete_job(engine, job.job_id, wid, values)
    finally:
        engine.dispose()


def seed(server) -> dict[str, int]:
    """regnet-a (60 finished, 50-epoch curves), anynet-b (40 finished), waiting (5 queued), empty (no models)."""
    c = server.client
    ids = {}
    for name, space, n, base in (("regnet-a", "RegNetX", 60, 8.0), ("anynet-b", "AnyNetX_A", 40, 10.0),
                                 ("waiting", "RegNetX", 5, 0.0), ("empty", "RegNetX", None, 0.0)):
        body = {"name": name, "space": space, "dataset": {"name": "digits"}, "im_size": 32,
                "regime": {"flops": [None, "20M"]}, "recipe": {"epochs": EPOCHS}}
        if n:
            body["n"] = n
        r = c.post("/api/studies", json=body)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
        if name in ("regnet-a", "anynet-b"):
            errs = [round(base + 7.0 * ((i * 37) % n) / n, 3) for i in range(n)]
            finish_with_curves(server.db_url, ids[name], errs)
    return ids


def hash_query(page) -> dict[str, list[str]]:
    """The query of the page's hash route, e.g. {"f.flops": ["..2500000"]}."""
    return parse_qs(urlsplit(page.url).fragment.partition("?")[2])


def set_theme(page, theme: str) -> None:
    """Pick a theme the way a user does (the toggle), and wait until the page shows it."""
    if page.evaluate("document.documentElement.dataset.theme") != theme:
        page.click("#theme-toggle")
    page.wait_for_function("t => document.documentElement.dataset.theme === t", arg=theme)


def shoot_every_page(page, base: str, ids: dict[str, int], theme: str) -> list[str]:
    """Open every page in `theme` and save artifacts/screenshots/<page>-<theme>.png; returns the names."""
    names = []
    a, b = ids["regnet-a"], ids["anynet-b"]
    page.goto(f"{base}/#/studies")
    page.wait_for_selector("#studies-table")
    set_theme(page, theme)
    walk = [
        ("studies", "#/studies", "#studies-table"),
        ("study", f"#/study/{a}", "main[data-rendered]"),
        ("compare", f"#/compare?study={a}&study={b}&study={ids['empty']}", "#stats-table tbody tr"),
        ("queue", "#/queue", "#new-study select option[value=RegNetX]"),
        ("jobs", "#/jobs", "#jobs-table tbody tr"),
        ("refine", f"#/refine/{a}", "#refine-kind option[value=bestrange]"),
        ("lineage", f"#/lineage/{a}", "#lineage-plot[data-loaded='1']"),
        ("import", "#/import", "#import-format option[value=nds]"),
    ]
    for name, route, ready in walk:
        page.goto(f"{base}/{route}")
        page.wait_for_selector(ready, state="attached")
        if name == "refine":  # with a preview on screen: the bootstrap best range of d
            page.select_option("#refine-kind", "bestrange")
            page.select_option("#refine-param", "d")
            page.click("#refine-preview")
            page.wait_for_function("() => document.querySelector('#refine-facts')?.textContent.includes('(bestrange)')")
            page.wait_for_function("() => document.querySelector('#refine-plot')?.dataset.loaded >= '1'")
        if name in ("study", "compare"):
            wait_figures(page)
        if name == "study":  # parcoords draws once on screen
            page.locator("#parcoords").scroll_into_view_if_needed()
            page.wait_for_selector("#parcoords[data-lines]")
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, f"{name}-{theme}")
        names.append(f"{name}-{theme}")
    # the model detail dialog (curves over 50 epochs)
    page.goto(f"{base}/#/study/{a}")
    page.wait_for_selector("main[data-rendered]")
    page.locator("#models-table tbody tr button.link").first.click()
    page.wait_for_selector("dialog[open] .js-plotly-plot")
    # the dialog itself (a full-page shot of a modal dialog shows the page behind it, not the dialog)
    page.locator("dialog[open]").screenshot(path=str(ARTIFACTS / "screenshots" / f"model-{theme}.png"))
    names.append(f"model-{theme}")
    page.keyboard.press("Escape")
    return names

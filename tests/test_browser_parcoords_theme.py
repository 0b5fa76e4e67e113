"""Parallel coordinates whose brushes are the study filter, and the light/dark theme, in real headless Chromium
against a real uvicorn server on SQLite. Every test fails on any browser console error."""

from __future__ import annotations

import re

import pytest
from conftest import open_browser, screenshot, wait_figures
from screens_helpers import hash_query, seed, shoot_every_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ids(sqlite_server) -> dict[str, int]:
    return seed(sqlite_server)


def match_count(page) -> int:
    m = re.match(r"([\d,]+) of", page.locator(".filter-count").inner_text())
    assert m
    return int(m[1].replace(",", ""))


def table_rows(page) -> int:
    return int(page.eval_on_selector("#models-table", "t => t.dataset.rows"))


def brush(page, axis: int, top: float, bottom: float) -> None:
    """Drag along parallel-coordinates axis `axis` (0 = error) from `top` to `bottom` (fractions of its height)."""
    handle = page.locator("#parcoords .axis-brush").nth(axis)
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * top)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * (top + bottom) / 2, steps=4)
    page.mouse.move(x, box["y"] + box["height"] * bottom, steps=4)
    page.mouse.up()


def test_brushing_an_axis_filters_table_and_url_and_a_typed_range_moves_the_brush(browser_page, sqlite_server, ids):
    page, console = browser_page
    c, base, sid = sqlite_server.client, sqlite_server.url, ids["regnet-a"]
    page.goto(f"{base}/#/study/{sid}?pc=d,wm")
    page.wait_for_selector("main[data-rendered]")
    page.locator("#parcoords").scroll_into_view_if_needed()
    page.wait_for_selector("#parcoords[data-lines='60']")
    names = page.eval_on_selector_all("#parcoords .axis-title", "ts => ts.map(t => t.textContent)")
    assert names == ["error", "d", "wm"]
    wait_figures(page)  # the scatter's server overlays redraw the client views once they arrive: let them
    page.locator("#parcoords").scroll_into_view_if_needed()

    brush(page, 0, 0.45, 0.98)  # the lower half of the error axis: the better models
    page.wait_for_function("() => /f\\.error=/.test(location.hash)")
    lo, hi = (float(v) for v in hash_query(page)["f.error"][0].split(".."))
    assert 8.0 <= lo < hi < 15.0
    q = {"error_min": lo, "error_max": hi, "limit": 1}
    expected = c.get(f"/api/studies/{sid}/models", params=q).json()["total"]
    assert 0 < expected < 60
    page.wait_for_function(f"document.querySelector('#models-table').dataset.rows === '{expected}'")
    assert match_count(page) == expected
    assert page.input_value("#f-error-lo") == str(lo) and page.input_value("#f-error-hi") == str(hi)
    # the brushed lines keep their colour; the parcoords still draws all 60 (the rest greyed)
    assert page.eval_on_selector("#parcoords", "d => d.dataset.lines") == "60"
    # the scatter grid follows: the selected points are the filtered models
    page.wait_for_function(f"""() => {{ const gd = document.getElementById('scatter-plot');
        const t = gd.data.find(t => t.meta && t.meta.role === 'points');
        return t && t.selectedpoints && t.selectedpoints.length === {expected}; }}""")

    # the reverse: a typed range moves the brush on the d axis
    page.fill("#f-d-lo", "4")
    page.fill("#f-d-hi", "12")
    page.press("#f-d-hi", "Enter")
    page.wait_for_function("() => (document.querySelector('#parcoords').dataset.brushes || '').includes('d=4..12')")
    rng = page.evaluate("document.getElementById('parcoords').data[0].dimensions[1].constraintrange")
    assert rng == [4, 12]
    assert hash_query(page)["f.d"] == ["4..12"]
    screenshot(page, "parcoords-brushed")

    # clearing the filter clears the brushes
    page.click("#filter-reset")
    page.wait_for_function("() => document.querySelector('#parcoords').dataset.brushes === ''")
    assert table_rows(page) == 60
    console.assert_clean()


def test_parcoords_axes_are_picked_and_kept_in_the_url(browser_page, sqlite_server, ids):
    page, console = browser_page
    page.goto(f"{sqlite_server.url}/#/study/{ids['regnet-a']}")
    page.wait_for_selector("main[data-rendered]")
    page.locator("#parcoords").scroll_into_view_if_needed()
    page.wait_for_selector("#parcoords[data-lines]")
    page.click(".pc-picker summary")
    page.check(".pc-picker input[value=g]")
    page.wait_for_function("() => /pc=[^&]*g/.test(location.hash)")
    names = page.eval_on_selector_all("#parcoords .axis-title", "ts => ts.map(t => t.textContent)")
    assert names[0] == "error" and "g" in names
    # log columns are drawn in log10 with ticks in their own units
    ticks = page.evaluate("document.getElementById('parcoords').data[0].dimensions[1].ticktext")
    assert ticks and any(t.endswith(("k", "M")) for t in ticks), ticks
    console.assert_clean()


def test_theme_follows_the_system_then_the_toggle_and_figures_follow(chromium_browser, sqlite_server, ids):
    ctx, page, console = open_browser(chromium_browser)
    try:
        base, sid = sqlite_server.url, ids["regnet-a"]
        page.emulate_media(color_scheme="dark")
        page.goto(f"{base}/#/study/{sid}")
        page.wait_for_selector("main[data-rendered]")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate("getComputedStyle(document.documentElement).backgroundColor") == "rgb(11, 17, 32)"
        wait_figures(page)
        # a server figure and the client-drawn scatter are in the dark colours
        assert page.evaluate("document.getElementById('fig-edf')._fullLayout.plot_bgcolor") == "#111827"
        assert page.evaluate("document.getElementById('scatter-plot')._fullLayout.plot_bgcolor") == "#111827"
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "theme-dark-study")

        # the system switches to light: the page follows (no choice stored yet)
        page.emulate_media(color_scheme="light")
        page.wait_for_function("document.documentElement.dataset.theme === 'light'")
        # the toggle picks dark; it is kept over a reload and over the system's preference
        page.click("#theme-toggle")
        page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
        page.wait_for_function("document.getElementById('fig-edf')._fullLayout.plot_bgcolor === '#111827'")
        page.locator("#parcoords").scroll_into_view_if_needed()  # parcoords (WebGL) draws only on screen
        page.wait_for_function("document.getElementById('parcoords')._fullLayout.font.color === '#d1d5db'")
        assert page.evaluate("localStorage.getItem('netspace.theme')") == "dark"
        page.reload()
        page.wait_for_selector("main[data-rendered]")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        page.click("#theme-toggle")
        page.wait_for_function("document.documentElement.dataset.theme === 'light'")
        page.wait_for_function("document.getElementById('scatter-plot')._fullLayout.plot_bgcolor === '#ffffff'")
        console.assert_clean()
    finally:
        ctx.close()


@pytest.mark.slow
def test_screenshots_of_every_page_in_both_themes(browser_page, sqlite_server, ids):
    """scripts/screenshots.py runs this: artifacts/screenshots/<page>-<theme>.png for every page."""
    page, console = browser_page
    names = [n for theme in ("light", "dark") for n in shoot_every_page(page, sqlite_server.url, ids, theme)]
    assert len(names) == 18  # 9 pages (8 and the model dialog) x 2 themes
    console.assert_clean()

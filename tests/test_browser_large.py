"""A large study in the browser: above 5,000 models the scatter grid paints points on canvases under Plotly's
axes. The filter recolours them, hover finds the model under the mouse, a box still selects, the PNG download
contains the points. The population is written straight through the database layer (bench/population_fixture)."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT, screenshot

sys.path.insert(0, str(ROOT))  # bench/ is not an installed package
from bench.population_fixture import build_study

pytestmark = [pytest.mark.browser, pytest.mark.slow]
N = 6000

PIXELS = """c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let blue = 0, grey = 0, bx = -1, by = -1;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] === 37 && d[i + 1] === 99 && d[i + 2] === 235) {
      blue++;
      if (bx < 0) { bx = (i / 4) % c.width; by = Math.floor(i / 4 / c.width); }
    } else if (d[i] === 203 && d[i + 1] === 213 && d[i + 2] === 225) grey++;
  }
  return {blue, grey, bx, by};
}"""


@pytest.fixture(scope="module")
def big(sqlite_server) -> int:
    from db.engine import make_engine

    engine = make_engine(sqlite_server.db_url)
    try:
        return build_study(engine, "large", N)["study_id"]
    finally:
        engine.dispose()


def test_canvas_points_filter_hover_select_and_png(browser_page, sqlite_server, big):
    page, console = browser_page
    c = sqlite_server.client
    page.goto(f"{sqlite_server.url}/#/study/{big}?x=flops,d")
    page.wait_for_selector("main[data-rendered]")
    layers = page.locator("#scatter-plot canvas.points-layer")
    assert layers.count() == 2
    first = layers.first.evaluate(PIXELS)
    assert first["blue"] > 1000 and first["grey"] == 0  # no filter: every model in colour

    flops = sorted(m["flops"] for m in c.get(f"/api/studies/{big}/models", params={"limit": 1000,
                                                                                   "sort": "flops"}).json()["items"])
    cut = flops[-1]  # the 1000th smallest: about a sixth of the models
    page.fill("#f-flops-hi", str(cut))
    page.press("#f-flops-hi", "Enter")
    expected = c.get(f"/api/studies/{big}/models", params={"flops_max": cut, "limit": 1}).json()["total"]
    page.wait_for_function(f"document.querySelector('#models-table').dataset.rows === '{expected}'")
    after = layers.first.evaluate(PIXELS)
    assert after["grey"] > 1000 and 0 < after["blue"] < first["blue"]

    layers.first.scroll_into_view_if_needed()
    box = layers.first.bounding_box()
    page.mouse.move(box["x"] + after["bx"], box["y"] + after["by"])
    tip = page.locator(".points-tip")
    tip.wait_for()
    assert tip.inner_text().startswith("model ") and "error" in tip.inner_text()
    screenshot(page, "study-large-canvas")

    with page.expect_download() as dl:
        page.locator("#scatter-plot .modebar-btn[data-title='Download plot as PNG']").click()
    assert dl.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a redraw that lands in the middle of the drag (server trends arriving late) must not lose the box
    box = layers.first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.02, box["y"] + box["height"] * 0.02)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5, steps=5)
    page.evaluate("() => { window.__netspace.redraw(); }")  # held until the mouse is up
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.98, steps=5)
    page.mouse.up()
    page.wait_for_function("location.hash.includes('f.error=')")
    assert "f.flops=" in page.url
    console.assert_clean()

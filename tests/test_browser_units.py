"""The dashboard's pure logic, run in real Chromium as the ES modules the app loads: the URL filter codec,
client-side filtering (NaN and lasso semantics), count parsing, 422 parsing, the binary population reader
and the table order."""

from __future__ import annotations

import pytest
from conftest import finish_jobs, open_browser

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(chromium_browser, sqlite_server):
    ctx, page, console = open_browser(chromium_browser)
    page.goto(f"{sqlite_server.url}/#/jobs")
    page.wait_for_selector("#jobs")
    try:
        yield page
        console.assert_clean()
    finally:
        ctx.close()


def run(page, module: str, body: str, arg=None):
    """Evaluate `body` (an async function body with the module bound to `m`) in the page."""
    return page.evaluate(f"async (arg) => {{ const m = await import('/static/js/{module}'); {body} }}", arg)


def test_parse_count_accepts_the_cli_forms(page):
    out = run(page, "dom.js", """return ['360M', '0.4G', '360e6', '2.5k', '1_000', ' 7 ', ''].map(m.parseCount)""")
    assert out == [360e6, 0.4e9, 360e6, 2500, 1000, 7, None]
    err = run(page, "dom.js", "try { m.parseCount('12 apples'); return null } catch (e) { return e.message }")
    assert "not a number" in err


def test_filter_url_codec_round_trips(page):
    out = run(page, "filter.js", """
        const f = new m.Filter();
        f.setRange('flops', 1.5e8, 4e8); f.setRange('d', null, 20); f.setRange('error', 5.25, null);
        f.lasso = {x: 'wm', y: 'error', pts: [[1.5, 10], [2.5, 10], [2, 20]]}; f.status = 'done';
        const q = f.toQuery(new URLSearchParams('x=flops&sort=error'));
        const g = m.Filter.fromQuery(new URLSearchParams(q.toString()));
        return {text: q.toString(), ranges: [...g.ranges], lasso: g.lasso, status: g.status, x: q.get('x'),
                server: g.serverQuery([3, 5])};""")
    assert out["ranges"] == [["flops", [1.5e8, 4e8]], ["d", [None, 20]], ["error", [5.25, None]]]
    assert out["lasso"] == {"x": "wm", "y": "error", "pts": [[1.5, 10], [2.5, 10], [2, 20]]}
    assert out["status"] == "done" and out["x"] == "flops"
    assert out["server"] == {"flops_min": 1.5e8, "flops_max": 4e8, "d_max": 20, "error_min": 5.25, "status": "done",
                             "ids": "3,5"}
    junk = run(page, "filter.js", """const g = m.Filter.fromQuery(new URLSearchParams(
        'f.DROP%20TABLE=1..2&f.flops=abc..5&lasso=flops;error;1,2&status=evil'));
        return {ranges: [...g.ranges], lasso: g.lasso, status: g.status}""")
    assert junk == {"ranges": [["flops", [None, 5]]], "lasso": None, "status": ""}


def test_learning_failures_filter_codec_and_apply(page):
    out = run(page, "filter.js", """
        const f = new m.Filter();
        const r = {before: f.isActive()};
        f.noFailures = true;
        const q = f.toQuery(new URLSearchParams('sort=error'));
        const g = m.Filter.fromQuery(new URLSearchParams(q.toString()));
        const pop = {n: 4, statusNames: ['queued', 'done'], status: new Uint8Array([1, 1, 1, 0]),
                     failure: new Uint8Array([0, 1, 2, 0]), cols: {error: new Float64Array([10, 100, 88, NaN])}};
        Object.assign(r, {text: q.toString(), back: g.noFailures, active: g.isActive(), server: g.serverQuery(),
                          kept: Array.from(g.apply(pop)), all: Array.from(new m.Filter().apply(pop)),
                          desc: g.describe()});
        g.clear(); r.cleared = [g.noFailures, g.toQuery(new URLSearchParams(q.toString())).toString()];
        return r;""")
    assert out["before"] is False and out["text"] == "sort=error&failures=exclude"
    assert out["back"] is True and out["active"] is True and out["server"] == {"exclude_failures": True}
    assert out["kept"] == [0, 3] and out["all"] == [0, 1, 2, 3]  # no result is no failure; failures kept by default
    assert out["desc"] == "without learning failures" and out["cleared"] == [False, "sort=error"]


def test_filter_apply_nan_ranges_and_log_space_lasso(page):
    out = run(page, "filter.js", """
        const pop = {n: 5, statusNames: ['queued', 'done'], status: new Uint8Array([1, 1, 0, 1, 1]),
                     cols: {flops: new Float64Array([1e6, 1e7, 1e8, 1e9, NaN]),
                            error: new Float64Array([10, 20, NaN, 30, 40])}};
        const f = new m.Filter();
        const r = {};
        f.setRange('error', null, 25); r.err = Array.from(f.apply(pop));
        f.clear(); f.setRange('flops', 5e6, null); r.flops = Array.from(f.apply(pop));
        f.clear(); f.status = 'queued'; r.status = Array.from(f.apply(pop));
        f.clear(); f.setRange('nonexistent', 0, 1); r.missing = Array.from(f.apply(pop));
        // a triangle drawn on a log flops axis: straight in log space, so 1e7 (log 7) is inside; which axes are
        // log comes from the server's column table, read once as the app does before a population page
        await (await import('/static/js/columns.js')).loadColumns();
        f.clear(); f.lasso = {x: 'flops', y: 'error', pts: [[1e6, 15], [1e8, 15], [1e8, 35]]};
        r.lasso = Array.from(f.apply(pop));
        return r;""")
    assert out == {"err": [0, 1], "flops": [1, 2, 3], "status": [2], "missing": [], "lasso": [1]}


def test_422_details_map_to_fields(page):
    out = run(page, "api.js", """return [
        m.parseErrorBody({detail: [{loc: ['body', 'regime'], field: 'regime.flops', msg: 'low must be <= high'}]}),
        m.parseErrorBody({detail: [{loc: ['body', 'recipe', 'epochs'], msg: 'Input should be >= 1'}]}),
        m.parseErrorBody({detail: [{loc: ['body'], msg: 'Value error, regime.flops: low must be <= high'}]}),
        m.parseErrorBody({detail: "a study named 'x' exists already", field: 'name'}),
        m.parseErrorBody({detail: 'study 9 not found'}),
    ]""")
    assert out == [[{"field": "regime.flops", "message": "low must be <= high"}],
                   [{"field": "recipe.epochs", "message": "Input should be >= 1"}],
                   [{"field": "regime.flops", "message": "low must be <= high"}],
                   [{"field": "name", "message": "a study named 'x' exists already"}],
                   [{"field": "", "message": "study 9 not found"}]]


def test_binary_population_decodes_to_the_json_columns(page, sqlite_server):
    r = sqlite_server.client.post("/api/studies", json={"name": "units", "space": "AnyNetX_A", "n": 12,
                                                        "regime": {"flops": [None, "10M"]}})
    sid = r.json()["id"]
    finish_jobs(sqlite_server.db_url, sid, [5.0, 6.5, 3.25])
    ref = sqlite_server.client.get(f"/api/studies/{sid}/population", params={"format": "json"}).json()
    got = run(page, "population.js", """
        const p = await m.loadPopulation(arg);
        const plain = (v) => Array.from(v, x => isNaN(x) ? null : x);
        const cols = Object.fromEntries(Object.entries(p.cols).map(([k, v]) => [k, plain(v)]));
        return {n: p.n, ids: Array.from(p.ids), status: Array.from(p.status, s => p.statusNames[s]), cols,
                counts: m.statusCounts(p), failures: Array.from(p.failure, f => p.header.failure_names[f])}""", sid)
    assert got["n"] == ref["n"] == 12
    assert got["ids"] == ref["columns"]["id"] and got["status"] == ref["columns"]["status"]
    for name, values in got["cols"].items():
        assert values == ref["columns"][name], name
    assert got["counts"]["done"] == 3 and got["counts"]["queued"] == 9
    assert got["failures"] == ref["columns"]["failure"] == ["none"] * 12


def test_table_order_puts_missing_values_last(page):
    out = run(page, "table.js", """
        const pop = {n: 5, cols: {error: new Float64Array([3, NaN, 1, 2, 1])}, status: new Uint8Array(5)};
        return {asc: Array.from(m.sortRows(pop, new Uint32Array([0, 1, 2, 3, 4]), 'error', 'asc')),
                desc: Array.from(m.sortRows(pop, new Uint32Array([0, 1, 2, 3, 4]), 'error', 'desc')),
                some: Array.from(m.sortRows(pop, new Uint32Array([0, 1, 3]), 'error', 'asc'))}""")
    assert out == {"asc": [2, 4, 3, 0, 1], "desc": [0, 3, 2, 4, 1], "some": [3, 0, 1]}

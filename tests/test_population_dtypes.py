"""The `format=bin` population sends each column in its narrowest exact dtype (backend.services.columns.narrow);
the dashboard's own decoder (frontend/js/population.js, run in real headless Chromium) must read back exactly
the numbers `format=json` sends — on crafted columns that take every dtype, and on real studies served over
HTTP: a RegNetX study with some models finished (missing errors, integer and fractional columns) and imported
NDS studies with extra columns (DARTS: op counts and widths; an lr-wd sweep: fractional lr and wd)."""

from __future__ import annotations

import base64
import json
import math
import struct
import uuid

import numpy as np
import pytest
from conftest import finish_jobs
from test_imported_columns import import_file, lr_wd_file

from backend.services.columns import Columns, encode_binary, encode_json, narrow

pytestmark = pytest.mark.browser

#: the page's decoder on a body; every column back as plain numbers (null where NaN), with its typed-array kind
DECODE_JS = """async ([src, b64, studyId]) => {
  const { decodePopulation, loadPopulation } = await import(src);
  let pop;
  if (b64 === null) pop = await loadPopulation(studyId);
  else pop = decodePopulation(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer);
  const plain = (a) => Array.from(a, (v) => (Number.isNaN(v) ? null : v));
  const cols = Object.fromEntries(Object.entries(pop.cols).map(([k, a]) => [k, plain(a)]));
  const kinds = Object.fromEntries(Object.entries(pop.cols).map(([k, a]) => [k, a.constructor.name]));
  return { n: pop.n, ids: plain(pop.ids), status: Array.from(pop.status, (s) => pop.statusNames[s]),
           failure: Array.from(pop.failure), cols, kinds, ranges: pop.ranges };
}"""

KINDS = {"uint8": "Uint8Array", "int8": "Int8Array", "uint16": "Uint16Array", "int16": "Int16Array",
         "uint32": "Uint32Array", "int32": "Int32Array", "float32": "Float32Array", "float64": "Float64Array"}


def crafted() -> tuple[Columns, dict[str, str]]:
    """Columns that take every dtype `narrow` can choose (and the edge of each range), with the dtype expected
    ("dtype/k": integers standing for value * 10**k)."""
    n = 6
    specs = {
        "error": ([12.5, float("nan"), 7.1, 30.0, 9.99, 50.0], "float64"),
        "u8": ([0, 1, 2, 3, 254, 255], "uint8"),
        "i8": ([-128, -1, 0, 5, 126, 127], "int8"),
        "u16": ([0, 256, 1000, 65535, 7, 8], "uint16"),
        "i16": ([-32768, 32767, 0, -1, 200, 255], "int16"),
        "u32": ([0, 65536, 4294967295, 3, 2, 1], "uint32"),
        "i32": ([-2147483648, 2147483647, -70000, 0, 1, 2], "int32"),
        "f32": ([0.5, -1.25, 3e9 + 512, 0.375, float("nan"), 16.0], "float32"),
        "f64": ([0.1, 1 / 3, 1e300, -2.5, float("nan"), 7.0], "float64"),
        "big": ([2.0 ** 40 + 1, 1, 2, 3, 4, 5], "float64"),  # whole but beyond int32/uint32, not float32-exact
        "holes": ([1, 2, float("nan"), 4, 5, 6], "float32"),  # whole but missing values: stays float
        "nanall": ([float("nan")] * 6, "float32"),
        "dec1": ([66.6, 19.9, 12.0, 0.5, 7.3, 250.1], "uint16/1"),  # sampled with q = 0.1: q / 10 each
        "dec3": ([1.599, -2.5, 0.125, 3.0, 2.853, -1.0], "int16/3"),
    }
    values = {k: np.array(v, dtype=np.float64) for k, (v, _) in specs.items()}
    cols = Columns(7, np.arange(1, n + 1, dtype=np.int32), np.zeros(n, dtype=np.uint8), values,
                   np.array([0, 1, 2, 0, 0, 1], dtype=np.uint8))
    return cols, {k: d for k, (_, d) in specs.items()}


def decode_header(r) -> list[dict]:
    """The column entries of a `format=bin` body's JSON header."""
    (hlen,) = struct.unpack("<I", r.content[4:8])
    return json.loads(r.content[8:8 + hlen])["columns"]


def assert_same(got: dict, want: dict) -> None:
    """The decoded page-side population equals format=json exactly (status names, failures, every value)."""
    assert got["n"] == want["n"]
    cols = want["columns"]
    assert got["ids"] == cols["id"]
    assert got["status"] == cols["status"]
    assert [("none", "diverged", "did_not_learn")[f] for f in got["failure"]] == cols["failure"]
    values = {k: v for k, v in cols.items() if k not in ("id", "status", "failure")}
    assert set(got["cols"]) == set(values)
    for name, expect in values.items():
        assert got["cols"][name] == expect, name  # exact equality: no float32/int rounding anywhere
        present = [v for v in expect if v is not None]  # the header's range, which spares the page a scan
        assert got["ranges"].get(name) == ([min(present), max(present)] if present else None), name


def test_narrow_chooses_the_narrowest_exact_dtype():
    cols, expected = crafted()
    for name, want in expected.items():
        arr, dtype, decimals = narrow(cols.values[name])
        assert (f"{dtype}/{decimals}" if decimals else dtype) == want, name
        back = arr.astype(np.float64) / 10.0 ** decimals
        assert np.array_equal(back, cols.values[name], equal_nan=True), name


def test_narrow_checks_every_value_not_only_the_first():
    """`narrow` tries each form on the first values before the whole column: a late value that breaks a form
    must still be seen."""
    late = {"float32": (0.5, 1 / 3, "float64"), "decimals": (0.1, 1 / 3, "float64"),
            "more decimals": (0.1, 0.25, "uint8/2")}
    for what, (first, last, want) in late.items():
        v = np.r_[np.full(5000, first), last]
        arr, dtype, decimals = narrow(v)
        assert (f"{dtype}/{decimals}" if decimals else dtype) == want, what
        assert np.array_equal(arr.astype(np.float64) / 10.0 ** decimals, v), what


def test_every_dtype_round_trips_through_the_page_decoder(browser_page, sqlite_server):
    page, console = browser_page
    page.goto(sqlite_server.url + "/")
    cols, expected = crafted()
    body = encode_binary(cols)
    got = page.evaluate(DECODE_JS, ["/static/js/population.js", base64.b64encode(body).decode(), None])
    assert got["kinds"] == {k: "Float64Array" if "/" in d else KINDS[d] for k, d in expected.items()}
    assert_same(got, encode_json(cols))
    assert got["cols"]["f64"][1] == 1 / 3 and math.isclose(got["cols"]["f32"][2], 3e9 + 512, rel_tol=0)
    assert got["cols"]["dec1"][0] == 66.6 and got["cols"]["dec3"][0] == 1.599
    assert not console.errors


@pytest.fixture(scope="module")
def served(sqlite_server, reference_dir, tmp_path_factory) -> dict[str, int]:
    """A RegNetX study with 12 of 30 models finished, and two imported NDS studies with extra columns."""
    c = sqlite_server.client
    r = c.post("/api/studies", json={"name": "dtypes", "space": "RegNetX", "dataset": {"name": "digits"},
                                     "im_size": 32, "regime": {"flops": [None, "20M"]}, "recipe": {"epochs": 1},
                                     "n": 30, "seed": 5})
    assert r.status_code == 201, r.text
    ids = {"regnet": r.json()["id"]}
    finish_jobs(sqlite_server.db_url, ids["regnet"], [round(5 + i * 1.37, 3) for i in range(12)])
    tag = uuid.uuid4().hex[:6]
    lrwd = tmp_path_factory.mktemp("lrwd") / "ResNeXt-A_lr-wd_in.json"
    lr_wd_file(reference_dir, lrwd)
    for key, path in (("darts", reference_dir / "nds" / "DARTS_in.json"), ("lrwd", lrwd)):
        import_file(path, f"{key}-{tag}", sqlite_server.db_url)
        ids[key] = next(s["id"] for s in c.get("/api/studies").json() if s["name"] == f"{key}-{tag}")
    return ids


@pytest.mark.parametrize("key", ["regnet", "darts", "lrwd"])
def test_served_population_decodes_to_the_json_values(browser_page, sqlite_server, served, key):
    page, console = browser_page
    page.goto(sqlite_server.url + "/")
    sid = served[key]
    got = page.evaluate(DECODE_JS, ["/static/js/population.js", None, sid])
    want = sqlite_server.client.get(f"/api/studies/{sid}/population", params={"format": "json"}).json()
    assert_same(got, want)
    kinds = set(got["kinds"].values())
    if key == "regnet":  # missing errors stay float; depths and widths come as small integers, wa and wm scaled
        assert got["cols"]["error"].count(None) == 18 and got["kinds"]["error"] in ("Float64Array", "Float32Array")
        assert got["kinds"]["d"] == "Uint8Array" and got["kinds"]["w0"] in ("Uint8Array", "Uint16Array")
        assert got["kinds"]["flops"] in ("Uint32Array", "Int32Array")
        header = {c["name"]: c for c in decode_header(sqlite_server.client.get(f"/api/studies/{sid}/population"))}
        assert header["wa"].get("decimals") and header["wm"].get("decimals")
    else:  # the imported study's extra columns are among those decoded, narrowed where whole
        extra = {c["name"] for c in want["extra_columns"]}
        assert extra and extra <= set(got["cols"])
        assert kinds & {"Uint8Array", "Uint16Array"}, got["kinds"]
    if key == "lrwd":
        assert got["kinds"]["lr"] == "Float64Array" and got["kinds"]["wd"] == "Float64Array"
    assert not console.errors

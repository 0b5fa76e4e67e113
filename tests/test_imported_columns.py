"""Imported populations are first-class (issue 16), on the real NDS files: every numeric field an import carries
(lr, wd, width, depth, cell operation counts) is a described column that filters /models and every export
exactly; the Complexity figure of ResNeXt-B_in draws only panels with data; pycls YAML writes every imported
AnyNet (built here with the project's torch builder) and an export that can write nothing is a 422.

Expected counts are computed straight from the JSON records, independently of the importer."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import numpy as np
import plotly.io as pio
import pytest
import yaml
from conftest import ROOT, open_browser, screenshot

from backend.designspace.complexity import complexity
from backend.importers.pycls_sweep import anynet_of


def runs(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def lr_wd_file(reference_dir: Path, out: Path) -> list[dict]:
    """An lr-wd sweep in the NDS record format: ResNeXt-A's runs with base_lr and wd varied per run (log-spaced,
    deterministic), as NDS's *_lr-wd files record them."""
    recs = runs(reference_dir / "nds" / "ResNeXt-A_in.json")
    rng = np.random.default_rng(16)
    for r in recs:
        r["optim"] = {**r["optim"], "base_lr": float(10 ** rng.uniform(-2, 0)), "wd": float(10 ** rng.uniform(-5, -3))}
    out.write_text(json.dumps(recs))
    return recs


def ops(rec: dict, cell: str, op: str) -> int:
    return sum(1 for pair in rec["net"]["genotype"][cell] if pair[0] == op)


def import_file(path: Path, name: str, db_url: str) -> None:
    out = subprocess.run([sys.executable, "-m", "backend.cli", "import", str(path), "--study", name, "--db", db_url],
                         cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr


def imported(c, path: Path, name: str, db_url: str) -> int:
    """Import `path` as study `name` through the CLI; its id."""
    import_file(path, name, db_url)
    return next(s["id"] for s in c.get("/api/studies").json() if s["name"] == name)


@pytest.fixture(scope="module")
def darts(live_server, reference_dir) -> int:
    """DARTS_in alone, for the browser test (the slow stage): the ResNeXt imports that `studies` adds cost their
    e_fit fits, ~10 s a database, and the page needs only a cell study."""
    return imported(live_server.client, reference_dir / "nds" / "DARTS_in.json", f"darts-{uuid.uuid4().hex[:6]}",
                    live_server.db_url)


@pytest.fixture(scope="module")
def studies(live_server, reference_dir, tmp_path_factory):
    tag = uuid.uuid4().hex[:6]
    lrwd = tmp_path_factory.mktemp("lrwd") / "ResNeXt-A_lr-wd_in.json"
    raw = {"darts": runs(reference_dir / "nds" / "DARTS_in.json"), "lrwd": lr_wd_file(reference_dir, lrwd),
           "resnext_b": runs(reference_dir / "nds" / "ResNeXt-B_in.json")}
    paths = {"darts": reference_dir / "nds" / "DARTS_in.json", "lrwd": lrwd,
             "resnext_b": reference_dir / "nds" / "ResNeXt-B_in.json"}
    ids = {key: imported(live_server.client, path, f"{key}-{tag}", live_server.db_url) for key, path in paths.items()}
    return ids, raw


def total(c, sid, **params) -> int:
    r = c.get(f"/api/studies/{sid}/models", params={"limit": 1, **params})
    assert r.status_code == 200, r.text
    return r.json()["total"]


def csv_rows(c, sid, **params) -> list[dict]:
    r = c.get(f"/api/studies/{sid}/export", params={"format": "csv", **params})
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text)))


CASES = [  # (study, filter, the records it keeps)
    ("lrwd", {"lr_min": 0.05, "wd_max": 1e-4}, lambda r: r["optim"]["base_lr"] >= 0.05 and r["optim"]["wd"] <= 1e-4),
    ("lrwd", {"lr_max": 0.03}, lambda r: r["optim"]["base_lr"] <= 0.03),
    ("darts", {"width_max": 48, "depth_min": 14}, lambda r: r["net"]["width"] <= 48 and r["net"]["depth"] >= 14),
    ("darts", {"iter_time_max": 0.25, "seed_min": 1}, lambda r: r["iter_time"] <= 0.25 and r["rng_seed"] >= 1),
    ("darts", {"normal_sep_conv_3x3_min": 2, "reduce_skip_connect_max": 0},
     lambda r: ops(r, "normal", "sep_conv_3x3") >= 2 and ops(r, "reduce", "skip_connect") == 0),
]


@pytest.mark.parametrize("key,flt,keep", CASES)
def test_extra_columns_filter_models_and_exports_exactly(live_server, studies, key, flt, keep):
    ids, raw = studies
    c, sid = live_server.client, ids[key]
    want = sorted(int(r["job_id"]) for r in raw[key] if keep(r))
    assert 0 < len(want) < len(raw[key])  # the filter does cut
    assert total(c, sid, **flt) == len(want)
    rows = csv_rows(c, sid, **flt)
    assert sorted(int(r["name"]) for r in rows) == want
    for name, bound in flt.items():  # the CSV carries the columns themselves, within the range
        col, side = name.rsplit("_", 1)
        vals = [float(r[col]) for r in rows]
        assert (min(vals) >= bound) if side == "min" else (max(vals) <= bound)
    got = c.get(f"/api/studies/{sid}/export", params={"format": "jsonl", **flt})
    assert sorted(int(json.loads(line)["name"]) for line in got.text.splitlines()) == want


def test_columns_are_described_by_the_api(live_server, studies):
    ids, _ = studies
    c = live_server.client
    cols = {col["name"]: col for col in c.get(f"/api/studies/{ids['lrwd']}/columns").json()}
    assert cols["lr"] == {**cols["lr"], "label": "learning rate", "log": True, "source": "extra", "filter": True}
    assert cols["wd"]["log"] and cols["flops"]["source"] == "complexity"
    darts = {col["name"]: col for col in c.get(f"/api/studies/{ids['darts']}/columns").json()}
    assert darts["normal_sep_conv_3x3"]["label"] == "normal cell: sep_conv_3x3"
    assert {"width", "depth", "lr", "wd", "epochs"} <= set(darts)
    pop = c.get(f"/api/studies/{ids['darts']}/population", params={"format": "json"}).json()
    assert {col["name"] for col in pop["extra_columns"]} <= set(pop["columns"])
    assert "normal_sep_conv_3x3" in pop["columns"]
    r = c.get(f"/api/studies/{ids['darts']}/models", params={"width_min": "wide"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "width_min"
    r = c.get(f"/api/studies/{ids['resnext_b']}/models", params={"width_max": 48})  # a DARTS column, not ResNeXt's
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "width_max" and "lr" in r.text


def test_importance_ranks_imported_columns(live_server, studies):
    ids, _ = studies
    fig = live_server.client.get(f"/api/studies/{ids['lrwd']}/figures/importance").json()
    assert {"lr", "wd"} <= set(fig["data"][0]["y"])


def arr(v) -> np.ndarray:
    """A figure JSON array: a list, or plotly's typed array {dtype, bdata (base64)}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).astype(float)
    return np.asarray([np.nan if x is None else x for x in (v or [])], dtype=float)


def test_complexity_of_resnext_b_has_no_empty_panel_or_overlapping_notes(live_server, studies):
    ids, _ = studies
    r = live_server.client.get(f"/api/studies/{ids['resnext_b']}/figures/complexity")
    fig = r.json()
    layout = pio.from_json(r.text).layout
    axes = [k for k in layout.to_plotly_json() if k.startswith("xaxis")]
    drawn = {t.get("xaxis", "x") for t in fig["data"] if np.isfinite(arr(t.get("x"))).any()}
    assert len(axes) == len(drawn) == 1  # params vs flops only: NDS records no acts or inference time
    assert list(layout.meta["missing"]) == ["acts", "infer_ms"]
    points = [t for t in fig["data"] if t.get("mode") == "markers"]
    for vals, axis in ((np.concatenate([arr(t["x"]) for t in points]), layout.xaxis),
                       (np.concatenate([arr(t["y"]) for t in points]), layout.yaxis)):
        lo, hi = axis.range  # from the data: every point inside, none squashed into a corner
        span = np.ptp(np.log10(vals))
        assert lo <= np.log10(vals.min()) and np.log10(vals.max()) <= hi and hi - lo < span * 1.5
    spots = [(a.xref, a.yref, a.x, a.y, a.yshift or 0) for a in layout.annotations]
    assert len(set(spots)) == len(spots)  # no two notes at one place
    texts = [a.text for a in layout.annotations]
    assert sum(t.startswith("no acts") for t in texts) == 1 and sum(t.startswith("no infer_ms") for t in texts) == 1


def test_pycls_export_of_a_filtered_resnext_b_subset_builds(live_server, studies):
    import torch

    from workers.model import build_model
    ids, raw = studies
    c, sid = live_server.client, ids["resnext_b"]
    cut = float(np.median([r["flops"] for r in raw["resnext_b"]]))
    kept = {int(r["job_id"]): r for r in raw["resnext_b"] if r["flops"] <= cut}
    r = c.get(f"/api/studies/{sid}/export", params={"format": "pycls", "flops_max": cut})
    assert r.status_code == 200 and r.headers["x-netspace-exported"] == str(len(kept))
    assert r.headers["x-netspace-left-out"] == "0"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    yamls = [n for n in z.namelist() if n.endswith(".yaml")]
    assert len(yamls) == len(kept) and "EXPORT_SUMMARY.txt" in z.namelist()
    models = {m["id"]: m for m in c.get(f"/api/studies/{sid}/models", params={"flops_max": cut, "limit": 1000}
                                        ).json()["items"]}
    for name in yamls[:6]:  # building every net costs minutes on 2 cores; six span the subset
        model = models[int(name.removeprefix("model_").removesuffix(".yaml"))]
        cfg = anynet_of(yaml.safe_load(z.read(name)), name)
        net = build_model(cfg, 1000)
        n_params = sum(p.numel() for p in net.parameters())
        assert n_params == complexity(cfg)["params"] == kept[int(model["name"])]["params"]  # the file's recorded params
        with torch.no_grad():
            assert net(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)


def test_exports_that_can_write_nothing_are_422(live_server, studies):
    ids, _ = studies
    c = live_server.client
    r = c.get(f"/api/studies/{ids['darts']}/export", params={"format": "pycls"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "format" and "121 nds_darts" in r.text
    r = c.get(f"/api/studies/{ids['resnext_b']}/export", params={"format": "timm"})
    assert r.status_code == 422 and "not a RegNet" in r.text
    r = c.get(f"/api/studies/{ids['darts']}/export", params={"format": "csv", "width_min": 1e9})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "filter"


@pytest.mark.browser
def test_scatter_offers_imported_columns_as_x_axes(chromium_browser, live_server, darts):
    ctx, page, console = open_browser(chromium_browser)
    try:
        page.goto(f"{live_server.url}/#/study/{darts}")
        page.wait_for_selector(".x-picker input[value='width']", state="attached")
        options = page.eval_on_selector_all(".x-picker input", "els => els.map((e) => e.value)")
        assert {"width", "depth", "normal_sep_conv_3x3", "reduce_skip_connect"} <= set(options)
        page.click(".x-picker summary")
        page.check(".x-picker input[value='width']")
        page.wait_for_function("() => location.hash.includes('width')")
        # imported from an ImageNet cell file: linked to its native cell space, so "Queue more" is a link
        page.locator("a.btn", has_text="Queue more samples").wait_for()
        assert "samples the native space NDS_DARTS" in page.locator(".queue-more-why").inner_text()
        page.wait_for_function("() => document.querySelector('.study-recorded')?.textContent.includes('lr 0.05')")
        assert "undefined" not in page.inner_text(".study-meta")
        assert "Imported" in page.eval_on_selector_all(".filter-group summary", "els => els.map((e) => e.textContent)")
        screenshot(page, "imported-study-darts")
        console.assert_clean()
    finally:
        ctx.close()


def test_width_figures_say_they_do_not_apply_to_cell_spaces(live_server, studies):
    ids, _ = studies
    c = live_server.client
    for kind in ("widths", "e_fit"):
        fig = c.get(f"/api/studies/{ids['darts']}/figures/{kind}").json()
        texts = [a["text"] for a in fig["layout"].get("annotations", [])]
        assert not fig["data"] and any(t.startswith("does not apply to cell-based spaces (nds_darts)") for t in texts)
        stage = c.get(f"/api/studies/{ids['resnext_b']}/figures/{kind}").json()  # stage nets: drawn
        assert stage["data"]

"""Figure builders: every kind builds from plain population columns, with the expected traces and legends."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from backend.analysis.compare import compare_spaces
from backend.analysis.normalized import EmptyBinError
from backend.analysis.synthetic import synthetic_population
from backend.analysis.table import from_records
from backend.designspace.builtin import get_space
from backend.designspace.config import AnyNetConfig
from backend.designspace.params import flat_params
from backend.designspace.sampling import Regime, sample
from backend.figures import FIGURES, build_figure, error_scatter_figures, to_json


def sampled_population(space: str, n: int, seed: int, offset: float) -> dict:
    """Real sampled configs with their flat parameters and complexity; errors and curves are synthetic."""
    rng = np.random.default_rng(seed)
    recs = []
    for r in sample(get_space(space), n, seed, Regime(flops=(360e6, 400e6))).records():
        cfg = r["config"]
        curve = np.linspace(70, 35, 10) + offset + rng.normal(0, 2)
        recs.append({"id": 1000 * seed + r["index"], "error": float(curve.min()), "flops": r["flops"],
                     "params": r["params"], "acts": r["acts"], "infer_ms": 1e-8 * r["flops"] + rng.normal(3, 0.1),
                     **flat_params(AnyNetConfig.model_validate(cfg)), "config": cfg,
                     "curves": {"test_error": curve.tolist(), "train_error": (curve - 5).tolist()}})
    recs[-1]["error"] = None  # an unfinished model: not counted
    return from_records(recs)


@pytest.fixture(scope="module")
def pops():
    return {"RegNetX": sampled_population("RegNetX", 41, 1, 0.0),
            "AnyNetX_A": sampled_population("AnyNetX_A", 31, 2, 5.0)}


def names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data if t.name]


def test_every_kind_builds_with_help_and_serialises(pops):
    for kind in FIGURES.names():
        opts = {"param": "wm"} if kind == "scatter" else {"bins": 3} if kind == "edf_normalized" else {}
        fig = build_figure(kind, pops, **opts)
        meta = fig.layout.meta
        assert meta["kind"] == kind and len(meta["help"]) > 40 and "\n" not in meta["help"], kind
        assert len(fig.data) > 0, kind
        parsed = json.loads(to_json(fig))
        assert parsed["layout"]["meta"]["help"] == meta["help"]
    with pytest.raises(ValueError, match="unknown figure kind 'nope'; allowed"):
        build_figure("nope", pops)


def test_edf_legend_carries_n_min_mean(pops):
    fig = build_figure("edf", pops)
    e = pops["RegNetX"]["error"]
    e = e[np.isfinite(e)]
    label = f"RegNetX n=40 | min {e.min():.3g} | mean {e.mean():.3g}"
    assert label in names(fig)
    line = next(t for t in fig.data if t.name == label)
    assert line.line.shape == "hv" and line.x[0] == e.min() and line.y[0] == 0 and line.y[-1] == 1
    assert sum(1 for t in fig.data if t.fill == "tonexty") == 2  # one band per study
    single = build_figure("edf", {"A": pops["AnyNetX_A"]}, band=False)
    assert len(single.data) == 1 and single.data[0].name.startswith("A n=30 |")


def test_normalized_edf_and_empty_bin(pops):
    fig = build_figure("edf_normalized", pops, bins=3)
    assert all("n_eff=" in n for n in names(fig) if "band" not in n)
    assert fig.layout.meta["c_lo"] >= 360e6 and fig.layout.meta["c_hi"] <= 400e6
    with pytest.raises(EmptyBinError, match="holds no model"):
        build_figure("edf_normalized", pops, bins=500)


def test_scatter_has_points_trend_and_bootstrap_band(pops):
    fig = build_figure("scatter", pops, param="w0")
    assert fig.layout.xaxis.type == "log"  # w0 is log-sampled
    assert "RegNetX n=40" in names(fig)
    assert not any(n.startswith("AnyNetX_A n=") for n in names(fig))  # AnyNet models have no w0
    assert any("median, quartiles" in n for n in names(fig))
    band = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(band) == 1 and band[0].name.startswith("RegNetX best range [") and band[0].x0 <= band[0].x1
    fig = build_figure("scatter", pops, param="d")
    assert fig.layout.xaxis.type == "linear" and "AnyNetX_A n=30" in names(fig)
    with pytest.raises(ValueError, match="'bogus' is not a population column"):
        build_figure("scatter", pops, param="bogus")


def test_large_scatter_uses_webgl_and_float32():
    pop = synthetic_population(5000, seed=1)
    figs = error_scatter_figures({"big": pop}, ["flops", "d", "g"])
    assert set(figs) == {"flops", "d", "g"}
    pts = figs["flops"].data[0]
    assert isinstance(pts, go.Scattergl) and pts.x.dtype == np.float32 and len(pts.x) == 5000
    assert figs["flops"].layout.xaxis.type == "log" and figs["g"].layout.xaxis.type == "log"
    assert figs["d"].layout.xaxis.type == "linear"


def test_width_curves_and_efit(pops):
    fig = build_figure("widths", pops, k=2)
    legend = names(fig)
    best = [n for n in legend if n.startswith("RegNetX best")]
    assert len(best) == 2 and all("e_fit 0.000" in n for n in best)  # RegNets fit the law exactly
    assert sum(1 for t in fig.data if t.name == "stage starts") == 8
    assert sum(1 for t in fig.data if t.name == "u_j") == 4  # continuous widths for RegNet models only
    assert sum(1 for t in fig.data if (t.name or "").startswith("fit w0=")) == 8
    assert fig.layout.yaxis.type == "log"
    ef = build_figure("e_fit", pops)
    assert ef.data[0].name.startswith("RegNetX n=40 | median e_fit 0.000")
    assert ef.data[1].name.startswith("AnyNetX_A n=30 | median e_fit") and np.median(ef.data[1].x) > 0.05


def test_complexity_figure_fits_and_missing_times(pops):
    fig = build_figure("complexity", pops)
    legend = names(fig)
    assert any(n.startswith("RegNetX: acts = ") and "*sqrt(flops)" in n for n in legend)
    assert any(n.startswith("RegNetX: params = ") for n in legend)
    assert any("time vs flops r=" in n and "runtime model R2=" in n for n in legend)
    assert any("time vs acts r=" in n for n in legend)
    no_times = {k: {c: v for c, v in p.items() if c != "infer_ms"} for k, p in pops.items()}
    fig = build_figure("complexity", no_times)
    assert [a.text for a in fig.layout.annotations if a.text.startswith("no ")] == [
        "no infer_ms recorded: its panels are left out"]  # one note, and no empty panel
    assert [a.text.split(" (")[0] for a in fig.layout.annotations[:2]] == ["acts vs flops", "params vs flops"]


def test_stats_table_matches_comparison(pops):
    fig = build_figure("stats", pops)
    cmp = compare_spaces({k: p["error"] for k, p in pops.items()})
    table = fig.data[0].cells.values
    assert list(table[0]) == ["RegNetX", "AnyNetX_A"] and list(table[1]) == [40, 30]
    pair = fig.data[1].cells.values
    assert pair[2][0] == f"{cmp.pairs[0].ks:.3f}"
    assert fig.layout.meta["pairs"][0]["p_value"] == pytest.approx(cmp.pairs[0].p_value)


def test_random_search_and_curves(pops):
    fig = build_figure("random_search", pops)
    assert fig.layout.xaxis.type == "log" and "RegNetX n=40" in names(fig)
    line = next(t for t in fig.data if t.name == "RegNetX n=40")
    assert line.x[0] == 1 and line.x[-1] == 40
    fig = build_figure("curves", pops, k=3)
    legend = names(fig)
    assert sum(n.startswith("RegNetX best") and "(train)" not in n for n in legend) == 3
    assert sum(n.startswith("AnyNetX_A worst") and "(train)" not in n for n in legend) == 3
    empty = build_figure("curves", {k: {c: v for c, v in p.items() if c != "curves"} for k, p in pops.items()})
    assert empty.layout.annotations[0].text == "no per-epoch curves recorded"


def test_importance_and_empty_population(pops):
    fig = build_figure("importance", {"RegNetX": pops["RegNetX"]})
    assert fig.data[0].name == "RegNetX n=40" and fig.data[0].orientation == "h"
    none = {"S": {"error": np.array([np.nan, np.nan]), "flops": np.array([1.0, 2.0])}}
    for kind in ("edf", "stats", "random_search", "importance"):
        fig = build_figure(kind, none)
        assert fig.layout.annotations[0].text == "no finished models yet", kind

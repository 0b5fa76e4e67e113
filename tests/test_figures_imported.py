"""Every figure kind builds for imported NDS populations (stage nets and NAS cells), not only for AnyNet samples."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

from backend.figures import FIGURES
from backend.services.figures import study_figure
from db.engine import make_engine

OPTIONS = {"scatter": {"param": "flops"}, "edf_normalized": {"log": True, "bins": 5}}  # NDS flops are log-spread


@pytest.mark.parametrize("name,has_stages", [("ResNeXt-A_in.json", True), ("DARTS_in.json", False)])
def test_all_figures_of_an_imported_study(reference_dir, sqlite_url, name, has_stages):
    out = subprocess.run([sys.executable, "-m", "backend.cli", "import", str(reference_dir / "nds" / name),
                          "--study", "imported", "--db", sqlite_url], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    engine = make_engine(sqlite_url)
    try:
        for kind in FIGURES.names():
            if kind == "lineage":
                continue
            fig = study_figure(engine, kind, [1], **OPTIONS.get(kind, {}))
            assert fig.layout.meta["kind"] == kind
        widths = study_figure(engine, "widths", [1])
        assert (len(widths.data) > 0) == has_stages  # NAS cells have no per-block widths to draw
    finally:
        engine.dispose()

"""Markers follow the fixtures a test uses (conftest.pytest_collection_modifyitems): `-m postgres` selects every
test that gets a PostgreSQL database, `-m browser` every one that drives Chromium, whatever its author wrote."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

FILES = ["tests/test_api_studies.py", "tests/test_queue_semantics.py", "tests/test_browser_units.py",
         "tests/test_sampling.py"]
#: collect FILES in a fresh pytest and print {test id: [its marker names]} (one collection, no test run)
COLLECT = """
import json, sys, pytest
class Markers:
    def pytest_collection_finish(self, session):
        self.found = {i.nodeid: sorted({m.name for m in i.iter_markers()}) for i in session.items}
plugin = Markers()
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *sys.argv[1:]], plugins=[plugin])
print("MARKERS" + json.dumps(plugin.found))
sys.exit(code)
"""


def test_markers_follow_fixtures():
    out = subprocess.run([sys.executable, "-c", COLLECT, *FILES], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    marks = json.loads(out.stdout.split("MARKERS", 1)[1])
    on_pg = [t for t in marks if "[postgresql" in t]  # db_url / db_engine / live_server's PostgreSQL half
    assert on_pg and all("postgres" in marks[t] for t in on_pg)
    assert not [t for t in marks if "[sqlite" in t and "postgres" in marks[t]]  # the SQLite half is not marked
    browser = [t for t in marks if t.startswith("tests/test_browser_units.py")]
    assert browser and all("browser" in marks[t] for t in browser)
    pure = [t for t in marks if t.startswith("tests/test_sampling.py")]
    assert pure and not [t for t in pure if {"postgres", "browser"} & set(marks[t])]

"""Markers follow the fixtures a test uses (conftest.pytest_collection_modifyitems): `-m postgres` selects every
test that gets a PostgreSQL database, `-m browser` every one that drives Chromium, whatever its author wrote."""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import subprocess
import sys

from conftest import DURATIONS, ROOT

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


def collected(files: list[str]) -> dict[str, list[str]]:
    """{test id: its marker names}, in the order pytest collected them."""
    out = subprocess.run([sys.executable, "-c", COLLECT, *files], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    found: dict[str, list[str]] = json.loads(out.stdout.split("MARKERS", 1)[1])
    return found


def test_markers_follow_fixtures():
    marks = collected(FILES)
    on_pg = [t for t in marks if "[postgresql" in t]  # db_url / db_engine / live_server's PostgreSQL half
    assert on_pg and all("postgres" in marks[t] for t in on_pg)
    assert not [t for t in marks if "[sqlite" in t and "postgres" in marks[t]]  # the SQLite half is not marked
    browser = [t for t in marks if t.startswith("tests/test_browser_units.py")]
    assert browser and all("browser" in marks[t] for t in browser)
    pure = [t for t in marks if t.startswith("tests/test_sampling.py")]
    assert pure and not [t for t in pure if {"postgres", "browser"} & set(marks[t])]


def test_files_are_collected_longest_first_each_in_its_own_order():
    """xdist hands whole files out in collection order: the longest (tests/durations.json) go first."""
    seconds = json.loads(DURATIONS.read_text())
    files = sorted(FILES, key=lambda f: seconds.get(f, 0.0))  # shortest first on the command line
    ids = list(collected(files))
    # each file's tests stay together (one run per file), the files longest first
    runs = [f for f, _ in itertools.groupby(t.split("::")[0] for t in ids)]
    assert runs == sorted(files, key=lambda f: -seconds.get(f, 0.0)) and runs != files
    # and in their own order (later tests may build on earlier ones)
    sampling = list(dict.fromkeys(t.split("::")[1].split("[")[0] for t in ids if t.startswith(FILES[-1])))
    defined = re.findall(r"^def (test_\w+)", (ROOT / FILES[-1]).read_text(), re.M)
    assert len(sampling) > 3 and sampling == [name for name in defined if name in sampling]


def test_durations_table_sums_junit_reports_per_file(tmp_path):
    spec = importlib.util.spec_from_file_location("test_durations", ROOT / "scripts" / "test_durations.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    file_seconds = module.file_seconds

    xml = tmp_path / "junit.xml"
    xml.write_text('<testsuites><testsuite name="pytest">'
                   '<testcase classname="tests.test_a" name="t1" time="1.25"/>'
                   '<testcase classname="tests.test_b" name="t1" time="4.0"/>'
                   '<testcase classname="tests.test_a" name="t2" time="2.5"/>'
                   '</testsuite></testsuites>')
    assert list(file_seconds([xml, xml]).items()) == [("tests/test_b.py", 8.0), ("tests/test_a.py", 7.5)]

"""Write tests/durations.json, the seconds each test file took, from pytest JUnit XML reports.

    python scripts/test_durations.py build/junit-fast.xml build/junit-slow.xml   # or: make durations

`make test` runs each stage on two pytest-xdist workers, whole files at a time (--dist loadfile). xdist hands
files out in the order the workers collected them, so tests/conftest.py puts the longest files first: a
one-test file that takes a minute (the tutorial) then starts early instead of running alone at the end while the
other worker idles. A file missing from the table counts as 0 s and runs last; regenerate after adding a slow one.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "durations.json"


def file_seconds(reports: list[Path]) -> dict[str, float]:
    seconds: Counter[str] = Counter()
    for report in reports:
        for case in ET.parse(report).iter("testcase"):
            seconds[case.get("classname", "").replace(".", "/") + ".py"] += float(case.get("time", 0))
    return {name: round(s, 1) for name, s in sorted(seconds.items(), key=lambda kv: -kv[1])}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_durations.py JUNIT.xml...")
    table = file_seconds([Path(p) for p in sys.argv[1:]])
    OUT.write_text(json.dumps(table, indent=1) + "\n")
    print(f"{OUT}: {len(table)} files, {sum(table.values()):.0f} s")

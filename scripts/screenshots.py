"""Screenshots of every dashboard page in the light and the dark theme: artifacts/screenshots/<page>-<theme>.png.

    python scripts/screenshots.py        (or `make screenshots`)

It runs the browser test that takes them (tests/test_browser_parcoords_theme.py::
test_screenshots_of_every_page_in_both_themes): a real server on a fresh SQLite file, a small population finished
as a worker finishes it (tests/screens_helpers.py), Debian's Chromium, and a failure on any console error. Pages:
studies, study, compare, queue, jobs, refine (with a preview), lineage, import and the model detail dialog. Look
at each image after a visual change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/test_browser_parcoords_theme.py::test_screenshots_of_every_page_in_both_themes"


def main() -> int:
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST], cwd=ROOT)
    if code == 0:
        shots = sorted((ROOT / "artifacts" / "screenshots").glob("*-light.png")) + \
            sorted((ROOT / "artifacts" / "screenshots").glob("*-dark.png"))
        print("\n".join(str(p.relative_to(ROOT)) for p in shots))
    return code


if __name__ == "__main__":
    sys.exit(main())

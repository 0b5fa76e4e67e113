"""The vendored reference data is what SOURCES.md says it is (every file listed, every hash right)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def test_every_vendored_file_matches_its_listed_sha256(reference_dir: Path) -> None:
    listed = dict((path, digest) for digest, path in
                  re.findall(r"^([0-9a-f]{64})  (\S+)$", (reference_dir / "SOURCES.md").read_text(), re.M))
    present = {str(p.relative_to(reference_dir)) for p in reference_dir.rglob("*") if p.is_file()} - {"SOURCES.md"}
    assert present == set(listed), "files and SOURCES.md disagree"
    for path, digest in listed.items():
        assert hashlib.sha256((reference_dir / path).read_bytes()).hexdigest() == digest, path

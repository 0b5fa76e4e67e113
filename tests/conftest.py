"""Shared fixtures: reference data, and CI strictness (real services must exist in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_service(message: str) -> None:
    """Skip outside CI, fail loudly in CI: a real part that is missing is never silently skipped there."""
    if IN_CI:
        pytest.fail(f"required service missing in CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        missing_service(f"reference data not found at {REFERENCE}")
    return REFERENCE

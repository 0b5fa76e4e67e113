"""What the extension registries hold, for the dashboard's menus and any client: GET /api/datasets (backend.datasets).

The space families are listed by GET /api/families (spaces.py) and the figure kinds by GET /api/figures
(figures.py); every list is read off its registry, so a new entry appears here without a change to this module.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.datasets import DATASETS
from backend.services.views import DatasetInfo

router = APIRouter(tags=["catalog"])


@router.get("/api/datasets")
def list_datasets() -> list[DatasetInfo]:
    """Every dataset a study can name: its class count, default resolution and whether (and what) path it needs."""
    return [DatasetInfo.model_validate(ds.describe()) for ds in DATASETS]

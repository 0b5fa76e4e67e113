"""What the extension registries hold, for the dashboard's menus and any client: GET /api/columns (the column
table, backend/designspace/columns.yaml), GET /api/datasets (backend.datasets) and GET /api/formats
(backend.importers.formats, backend.exporters).

The space families are listed by GET /api/families (spaces.py) and the figure kinds by GET /api/figures
(figures.py); every list is read off its registry, so a new entry appears here without a change to this module.
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.datasets import DATASETS
from backend.designspace.columns import Column, columns
from backend.exporters import EXPORT_FORMATS
from backend.importers import IMPORT_FORMATS
from backend.services.views import DatasetInfo, ExportFormatInfo, Formats, ImportFormatInfo

router = APIRouter(tags=["catalog"])


@router.get("/api/columns")
def list_columns() -> list[Column]:
    """Every listed population column in display order (per-stage ones expanded: d_1..d_5): label, unit, log axis,
    source, print format, whether the server filters on it, and its filter group. A study's population may add
    `extra` columns of its own (GET /api/studies/{id}/population), labelled by their names."""
    return list(columns().values())


@router.get("/api/datasets")
def list_datasets() -> list[DatasetInfo]:
    """Every dataset a study can name: its class count, default resolution and whether (and what) path it needs."""
    return [DatasetInfo.model_validate(ds.describe()) for ds in DATASETS]


@router.get("/api/formats")
def list_formats() -> Formats:
    """The formats POST /api/studies/import reads (besides `auto`) and the ones GET .../export writes."""
    return Formats(imports=[ImportFormatInfo.model_validate(f.describe()) for f in IMPORT_FORMATS],
                   exports=[ExportFormatInfo.model_validate(f.describe()) for f in EXPORT_FORMATS])

"""timm: RegNet models as keyword arguments of timm's RegNetCfg ({id, error, kwargs}); other models are left out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from backend.designspace.config import AnyNetConfig
from backend.designspace.exports import timm_kwargs

from . import ExportFormat, json_array


def timm_items(rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """RegNet models only: {id, error, kwargs} with timm RegNetCfg keyword arguments."""
    for r in rows:
        if r["arch_type"] != "anynet":
            continue
        kw = timm_kwargs(AnyNetConfig.model_validate(r["config"]))
        if kw is not None:
            yield {"id": r["id"], "error": r["error"], "kwargs": kw}


class Timm(ExportFormat):
    name = "timm"
    label = "timm kwargs"
    help = "RegNet models as timm RegNetCfg keyword arguments with their error (JSON)"
    order = 40
    media_type = "application/json"
    extension = "timm.json"

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        return json_array(timm_items(rows))


FORMAT = Timm()

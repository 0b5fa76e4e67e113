"""timm: RegNet models as keyword arguments of timm's RegNetCfg ({id, error, kwargs}); other models are left out
(the download's X-Netspace-Left-Out headers count them by reason)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from backend.designspace.exports import record_anynet, record_anynet_dict, timm_kwargs

from . import ExportFormat, json_array
from .pycls import not_anynet

NOT_REGNET = ("an AnyNet but not a RegNet: timm's RegNetCfg holds only the RegNet width law, not free per-stage "
              "widths (the pycls YAML export writes it)")


def timm_items(rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """RegNet models only: {id, error, kwargs} with timm RegNetCfg keyword arguments."""
    for r in rows:
        cfg = record_anynet(r)
        kw = timm_kwargs(cfg) if cfg is not None else None
        if kw is not None:
            yield {"id": r["id"], "error": r["error"], "kwargs": kw}


class Timm(ExportFormat):
    name = "timm"
    label = "timm kwargs"
    help = "RegNet models as timm RegNetCfg keyword arguments with their error (JSON); other models are left out"
    order = 40
    media_type = "application/json"
    extension = "timm.json"
    selective = True

    def leave_out(self, record: Mapping[str, Any]) -> str | None:
        why = not_anynet(record)
        if why is not None:
            return why
        return None if (record_anynet_dict(record) or {}).get("regnet") else NOT_REGNET

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        return json_array(timm_items(rows))


FORMAT = Timm()

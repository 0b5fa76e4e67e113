"""Recount every record of an NDS release file from its `net` and compare with the file's flops and params.

`netspace complexity --nds FILE` prints what `recount_file` returns. Flops are compared in the release's own
convention (nds_nets.nds_complexity for ResNet-like nets, nds_nets.nds_cell_complexity for the NAS cell nets of
DARTS, NASNet, PNAS, ENAS and Amoeba; docs/nds-complexity.md); the plain multiply-adds netspace calls flops are
summed beside them.
"""

from __future__ import annotations

from typing import Any

from .nds import _items, describe_file
from .nds_nets import nds_cell_complexity, nds_complexity
from .records import RecordError
from .source import load_json

#: mismatches listed in full (the rest are counted)
SHOWN = 5


def recount_file(text: str, filename: str) -> dict[str, Any]:
    """{"records", "flops_exact", "params_exact", "macs_total", "mismatches": [first SHOWN], "mismatched"}."""
    _, imagenet = describe_file(filename)
    items, _ = _items(load_json(text))
    flops_ok = params_ok = mismatched = 0
    macs_total = 0
    shown: list[dict[str, Any]] = []
    for label, rec in items:
        net = rec.get("net") if isinstance(rec, dict) else None
        ours: dict[str, int] | None = None
        reason = ""
        if not isinstance(net, dict):
            reason = "no net"
        else:
            try:
                ours = nds_cell_complexity(net, imagenet) if "genotype" in net else nds_complexity(net, imagenet)
            except RecordError as e:
                reason = str(e)
            if ours is None and not reason:
                reason = "no AnyNet form (stem or group widths netspace cannot build)"
        file_flops, file_params = (rec.get("flops"), rec.get("params")) if isinstance(rec, dict) else (None, None)
        f_ok = ours is not None and ours["flops"] == file_flops
        p_ok = ours is not None and ours["params"] == file_params
        flops_ok += f_ok
        params_ok += p_ok
        if ours is not None:
            macs_total += ours["macs"]
        if f_ok and p_ok:
            continue
        mismatched += 1
        if len(shown) < SHOWN:
            row: dict[str, Any] = {"record": label, "flops": file_flops, "params": file_params}
            if ours is not None:
                row |= {"our_flops": ours["flops"], "our_macs": ours["macs"], "our_params": ours["params"]}
            if reason:
                row["reason"] = reason
            shown.append(row)
    return {"records": len(items), "flops_exact": flops_ok, "params_exact": params_ok, "macs_total": macs_total,
            "mismatched": mismatched, "mismatches": shown}

"""NDS (Radosavovic et al. 2019) population files: a JSON list of runs, or an object of lists (reruns); the
reader is backend.importers.nds."""

from __future__ import annotations

from .. import nds
from ..records import Plan
from ..source import as_text
from . import ImportFormat, Sniff, has


class Nds(ImportFormat):
    name = "nds"
    label = "NDS (facebookresearch/nds)"
    help = "an NDS .json file of runs (ResNeXt-A_in.json, Vanilla_reruns.json, ...); _in names are ImageNet"
    order = 0
    detect_order = 20  # after pycls sweeps: a sweep job's keys win over NDS-like ones beside its cfg
    splittable = True

    def detect(self, s: Sniff) -> bool:
        if s.opening == "list":
            return has(s.first, "net", "min_test_top1")
        # an object of lists ({"top": [...], "mid": [...]}) whose records say nothing else: NDS's reruns
        return s.object_of_lists and (has(s.lists_first, "net", "min_test_top1") or not has(s.lists_first, "config"))

    def plan(self, data: str | bytes, filename: str | None, *, split: bool = False) -> Plan:
        return nds.plan(as_text(data), filename, split=split)


FORMAT = Nds()

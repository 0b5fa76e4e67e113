"""pycls sweep.json files: a list of jobs, each with its `cfg` and per-epoch stats; the reader is
backend.importers.pycls_sweep."""

from __future__ import annotations

from .. import pycls_sweep
from ..records import Plan
from ..source import as_text
from . import ImportFormat, Sniff, has


class PyclsSweep(ImportFormat):
    name = "pycls-sweep"
    label = "pycls sweep.json"
    help = "a pycls sweep's sweep.json: a list of jobs with cfg and per-epoch test/train stats"
    order = 10
    detect_order = 10

    def detect(self, s: Sniff) -> bool:
        return has(s.first, "cfg") or has(s.lists_first, "cfg")

    def plan(self, data: str | bytes, filename: str | None, *, split: bool = False) -> Plan:
        return pycls_sweep.plan(as_text(data), filename)


FORMAT = PyclsSweep()

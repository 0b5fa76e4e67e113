"""pycls YAML: one config file per AnyNet/RegNet model (model_<id>.yaml) in a zip, ready for pycls's train_net.

Imported nets that map onto an AnyNet (NDS ResNet, ResNeXt, Vanilla: config["anynet"]) are written as that
AnyNet; other architectures (NAS cells) are left out and counted, by reason, in the zip's EXPORT_SUMMARY.txt.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import IO, Any

from backend.designspace.exports import pycls_yaml, record_anynet, record_anynet_dict

from . import ExportFormat, spooled, summary_text

SUMMARY = "EXPORT_SUMMARY.txt"


def not_anynet(record: Mapping[str, Any]) -> str | None:
    """Why a model has no AnyNet to write (None when it has one)."""
    if record_anynet_dict(record) is not None:
        return None
    return (f"{record.get('arch_type')}: not an AnyNet (pycls's AnyNet builds stage-wise nets only, not cell-based "
            "or other architectures)")


class Pycls(ExportFormat):
    name = "pycls"
    label = "pycls YAML (zip)"
    help = ("a zip of pycls config files, one per model that is an AnyNet/RegNet or maps onto one (imported "
            "ResNet, ResNeXt, Vanilla); others are left out and counted in EXPORT_SUMMARY.txt")
    order = 30
    media_type = "application/zip"
    extension = "zip"
    binary = True
    selective = True

    def leave_out(self, record: Mapping[str, Any]) -> str | None:
        return not_anynet(record)

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        def write_zip(f: IO[bytes]) -> None:
            left_out: Counter[str] = Counter()
            written = 0
            with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
                for r in rows:
                    why = not_anynet(r)
                    if why is not None:
                        left_out[why] += 1
                        continue
                    cfg = record_anynet(r)
                    assert cfg is not None
                    desc = f"netspace study {study['name']} model {r['id']}"
                    if r["error"] is not None:
                        desc += f", top-1 error {r['error']:.2f}%"
                    z.writestr(f"model_{r['id']}.yaml", pycls_yaml(cfg, study["im_size"], study["num_classes"], desc))
                    written += 1
                z.writestr(SUMMARY, summary_text(study, self.label, written, left_out))

        return spooled(write_zip)


FORMAT = Pycls()

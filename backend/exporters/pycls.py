"""pycls YAML: one config file per AnyNet/RegNet model (model_<id>.yaml) in a zip, ready for pycls's train_net."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from typing import IO, Any

from backend.designspace.config import AnyNetConfig
from backend.designspace.exports import pycls_yaml

from . import ExportFormat, spooled


class Pycls(ExportFormat):
    name = "pycls"
    label = "pycls YAML (zip)"
    help = "a zip of pycls config files, one per AnyNet/RegNet model (other architectures are left out)"
    order = 30
    media_type = "application/zip"
    extension = "zip"
    binary = True

    def write(self, rows: Iterable[Any], study: Mapping[str, Any]) -> Iterable[str | bytes]:
        def write_zip(f: IO[bytes]) -> None:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
                for r in rows:
                    if r["arch_type"] != "anynet":
                        continue
                    desc = f"netspace study {study['name']} model {r['id']}"
                    if r["error"] is not None:
                        desc += f", top-1 error {r['error']:.2f}%"
                    text = pycls_yaml(AnyNetConfig.model_validate(r["config"]), study["im_size"],
                                      study["num_classes"], desc)
                    z.writestr(f"model_{r['id']}.yaml", text)

        return spooled(write_zip)


FORMAT = Pycls()

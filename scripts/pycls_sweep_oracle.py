"""Regenerate tests/data/reference/pycls_sweep_cases.json with pycls's own sweep standardisation (dev only).

    python scripts/pycls_sweep_oracle.py PYCLS_CHECKOUT OUT.json

PYCLS_CHECKOUT is a source tree of facebookresearch/pycls (commit 5719de6; PyPI's 0.1.1 has no scaler). It needs
torch and yacs; pycls's file I/O (iopath) is never used here, so a stand-in module is put on the path. netspace
draws raw candidates of each space (seed 2026), pycls's `scale_model` (factor 1) standardises them and its
`net.complexity(AnyNet)` counts them at 224 px and 1000 classes. Per space, up to 40 cases where netspace's default
standardisation disagrees with pycls's sweep and 20 where it agrees are kept.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SPACES = ("RegNetX", "AnyNetX_A", "AnyNetX_B", "AnyNetX_C", "AnyNetX_D", "AnyNetX_E")


def _pycls(checkout: str) -> tuple[Any, Any, Any, Any]:
    stub = Path(tempfile.mkdtemp()) / "iopath" / "common"
    stub.mkdir(parents=True)
    (stub.parent / "__init__.py").write_text("")
    (stub / "__init__.py").write_text("")
    (stub / "file_io.py").write_text("class PathManagerFactory:\n    @staticmethod\n    def get(*a, **k):\n"
                                     "        return None\n")
    sys.path[:0] = [checkout, str(stub.parent.parent)]
    from pycls.core import net
    from pycls.core.config import cfg
    from pycls.models import scaler
    from pycls.models.anynet import AnyNet
    return cfg, scaler, net, AnyNet


def main(checkout: str, out_path: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from backend.designspace.builtin import get_space
    from backend.designspace.families import get_family

    cfg, scaler, net, anynet = _pycls(checkout)
    base = cfg.clone()
    rng = np.random.default_rng(2026)
    out: list[dict[str, Any]] = []
    for name in SPACES:
        space = get_space(name)
        batch = get_family(space.family).propose(space, rng, 20000)
        stages = range(1, space.num_stages + 1)
        kept = {True: 0, False: 0}
        for i in rng.permutation(len(batch)):
            cfg.merge_from_other_cfg(base)
            cfg.MODEL.NUM_CLASSES = 1000
            raw = {k: (int(v[i]) if float(v[i]).is_integer() else float(v[i])) for k, v in batch.sampled.items()}
            if space.family == "regnet":
                cfg.MODEL.TYPE = "regnet"
                r = cfg.REGNET
                r.DEPTH, r.W0, r.WA, r.WM, r.GROUP_W = raw["d"], raw["w0"], float(raw["wa"]), float(raw["wm"]), raw["g"]
                r.BOT_MUL = 1.0 / raw["b"]
            else:
                cfg.MODEL.TYPE = "anynet"
                a = cfg.ANYNET
                a.DEPTHS, a.WIDTHS = [raw[f"d_{k}"] for k in stages], [raw[f"w_{k}"] for k in stages]
                a.BOT_MULS, a.GROUP_WS = [1.0 / raw[f"b_{k}"] for k in stages], [raw[f"g_{k}"] for k in stages]
                a.STRIDES = [2] * space.num_stages
            scaler.scale_model()
            a = cfg.ANYNET
            rec = {"space": name, "sampled": raw, "depths": list(a.DEPTHS), "widths": list(a.WIDTHS),
                   "bot_muls": [float(x) for x in a.BOT_MULS], "group_ws": list(a.GROUP_WS),
                   **net.complexity(anynet)}
            differs = batch.widths[i].tolist() != rec["widths"] or batch.group_ws[i].tolist() != rec["group_ws"]
            if kept[differs] < (40 if differs else 20):
                kept[differs] += 1
                out.append(rec)
            if kept[True] >= 40 and kept[False] >= 20:
                break
        print(name, len(batch), kept, file=sys.stderr)
    meta = "pycls 5719de6 scale_model + AnyNet.complexity, TRAIN.IM_SIZE 224, NUM_CLASSES 1000"
    Path(out_path).write_text(json.dumps({"generator": meta, "cases": out}, separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

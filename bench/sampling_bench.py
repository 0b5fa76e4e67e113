"""Sampling rate: vectorised rejection sampler vs a one-config-at-a-time loop, side by side, one core.

Target (issue 2): >= 10,000 valid RegNetX configs/s in the 360-400MF regime at 224^2 on one core.
"Valid" = 4 stages and inside the regime, deduplicated, identical to the block-by-block generator.
"""

from __future__ import annotations

import os
import time

import numpy as np

from backend.designspace.builtin import get_space
from backend.designspace.complexity import complexity
from backend.designspace.config import RegNetParams
from backend.designspace.laws import draw
from backend.designspace.regnet import generate_regnet, regnet_to_anynet
from backend.designspace.sampling import Regime, sample

REGIME = Regime(flops=(360e6, 400e6))


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def loop_rate(space_name: str, seconds: float = 3.0, seed: int = 0) -> tuple[float, float]:
    """The straightforward way: draw one candidate, generate, check stages, build, count, filter."""
    space = get_space(space_name)
    rng = np.random.default_rng(seed)
    names = ("d", "w0", "wa", "wm", "g", "b")
    valid = attempts = 0
    seen: set[tuple] = set()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        d, w0, wa, wm, g, b = (float(draw(space.params[k], rng, 1)[0]) for k in names)
        attempts += 1
        gen = generate_regnet(int(d), w0, wa, wm)
        if not gen.num_stages == gen.total_stages == space.num_stages:
            continue
        p = RegNetParams(depth=int(d), w0=int(w0), wa=wa, wm=wm, group_w=int(g), bot_mul=1.0 / b)
        cx = complexity(regnet_to_anynet(p, se_r=space.se_r), space.im_size, space.num_classes)
        key = (d, w0, wa, wm, g, b)
        if REGIME.flops[0] <= cx["flops"] <= REGIME.flops[1] and key not in seen:
            seen.add(key)
            valid += 1
    dt = time.perf_counter() - t0
    return valid / dt, attempts / dt


def vector_rate(space_name: str, n: int = 30_000, seed: int = 0) -> tuple[float, float, float]:
    space = get_space(space_name)
    sample(space, 100, seed + 1, REGIME)  # warm-up (imports, first allocations)
    t0 = time.perf_counter()
    res = sample(space, n, seed, REGIME)
    dt = time.perf_counter() - t0
    return len(res) / dt, res.candidates / dt, res.acceptance_rate


def end_to_end_rate(space_name: str, n: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """What `netspace sample --space S --n N > file.jsonl` does after the process starts (sample, records,
    JSON lines to a file), and the same with a validated pydantic config and json.dumps per record (how
    records were written before): valid configs/s, side by side."""
    import json
    import tempfile

    from backend.designspace.exports import jsonl_lines

    space = get_space(space_name)
    sample(space, 100, seed + 1, Regime())  # warm-up
    with tempfile.TemporaryFile("w") as f:
        t0 = time.perf_counter()
        res = sample(space, n, seed, Regime())
        f.writelines(jsonl_lines(res.records()))
        fast = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = sample(space, n, seed, Regime())
        for i, rec in enumerate(res.records()):
            rec = {**rec, "config": res.config(i).model_dump(mode="json", exclude_none=True)}
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        slow = time.perf_counter() - t0
    return n / fast, n / slow


def cell_rate(name: str, n: int = 5_000, flops: tuple[float, float] = (2e8, 6e8)) -> tuple[float, float]:
    """A NAS cell space's sampler (vectorised draws, each candidate counted in Python) in an ImageNet regime of
    plain multiply-adds: (valid configs/s, acceptance)."""
    from backend.designspace.cell_spaces import get_cell_space, sample_cells

    space = get_cell_space(name)
    sample_cells(space, 50, seed=1, flops=flops)  # warm-up: per-operation cost caches
    t0 = time.perf_counter()
    res = sample_cells(space, n, seed=0, flops=flops)
    dt = time.perf_counter() - t0
    return len(res.records) / dt, len(res.records) / res.candidates


def main() -> list[tuple[str, float, str]]:
    pin_one_core()
    rows = []
    print("sampling, one core, 360-400MF at 224^2 (valid = 4 stages, in regime, distinct)")
    print(f"{'space':22s} {'vectorised valid/s':>20s} {'loop valid/s':>14s} {'ratio':>8s} {'acceptance':>11s}")
    for name in ("RegNetX_constrained", "RegNetX"):
        v_valid, v_cand, acc = vector_rate(name)
        l_valid, _ = loop_rate(name)
        ratio = v_valid / l_valid if l_valid else float("inf")
        print(f"{name:22s} {v_valid:20,.0f} {l_valid:14,.1f} {ratio:8.0f}x {acc:11.3%}")
        rows += [(f"sampling {name} valid/s (vectorised)", v_valid, "configs/s"),
                 (f"sampling {name} valid/s (loop)", l_valid, "configs/s"),
                 (f"sampling {name} speed-up", ratio, "x")]
    print("end to end (sample, records, JSON lines to a file), 20,000 models, no regime")
    for name in ("RegNetX", "AnyNetX_A"):
        fast, slow = end_to_end_rate(name)
        print(f"{name:22s} {fast:12,.0f} configs/s (validated configs + json.dumps: {slow:,.0f}; {fast / slow:.1f}x)")
        rows += [(f"netspace sample {name} > jsonl, end to end", fast, "configs/s"),
                 (f"netspace sample {name}: validated configs + json.dumps (before)", slow, "configs/s"),
                 (f"netspace sample {name}: speed-up", fast / slow, "x")]
    print("NAS cell spaces, 5,000 models in 200M-600M multiply-adds at 224^2 (target >= 1,000 valid/s)")
    for name in ("NDS_DARTS", "NDS_NASNet", "NDS_PNAS", "NDS_ENAS", "NDS_Amoeba"):
        rate, acc = cell_rate(name)
        print(f"{name:22s} {rate:12,.0f} valid configs/s (acceptance {acc:.1%})")
        rows.append((f"sampling {name} valid/s (200M-600M)", rate, "configs/s"))
    return rows


if __name__ == "__main__":
    main()

"""Calibrate the CPU proxy recipe: train the demo's first k models of a space with one recipe, print each one.

The models are exactly those the demo queues (same space, regime, sampling seed, per-job seeds), so a recipe
judged here is judged on the population the demo trains. Prints one line per model (first-batch loss, first-
epoch loss, final and best test error, wall and CPU seconds) and a summary (median error, models at chance, median
time). With one torch thread the CPU seconds are what a model costs a free core, whatever else loads the machine.

Run: `OMP_NUM_THREADS=1 python -m bench.proxy_calibration --space RegNetX --k 8 --recipe '{"epochs": 10}'`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from backend.designspace.builtin import get_space
from backend.designspace.sampling import Regime, sample
from backend.study_spec import DatasetSpec, Recipe, job_seed
from workers.data import load_dataset
from workers.train import train_model

CHANCE_MARGIN = 10.0  # percentage points below chance that still count as "at chance" here


def run(space: str, indices: list[int], recipe: Recipe, im_size: int, flops_max: float,
        seed: int = 0) -> list[dict[str, float]]:
    """Train the models at `indices` of the demo's sample of `space`; one dict per model."""
    res = sample(get_space(space), max(indices) + 1, seed, Regime(flops=(None, flops_max)), im_size=im_size,
                 num_classes=10)
    data = load_dataset(DatasetSpec(), im_size, torch.device("cpu"))
    out = []
    for i in indices:
        t0, c0 = time.perf_counter(), time.process_time()
        r = train_model(res.config(i), data, recipe, seed=job_seed(seed, i), device="cpu")
        row = {"i": i, "flops": float(res.batch.counts.flops[i]) if res.batch.counts else 0.0,  # type: ignore[union-attr]
               "loss0": float(r.epochs[0].train_loss or float("nan")), "err": r.error,
               "err_final": r.error_final, "train_err_final": r.epochs[-1].train_error,
               "diverged": float(r.diverged), "did_not_learn": float(bool(r.did_not_learn)),
               "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--space", default="RegNetX")
    p.add_argument("--k", type=int, default=6)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--indices", default=None, help="comma-separated model indices (instead of --offset/--k)")
    p.add_argument("--recipe", default="{}")
    p.add_argument("--im-size", type=int, default=32)
    p.add_argument("--flops-max", type=float, default=5e6)
    a = p.parse_args(argv)
    recipe = Recipe.model_validate(json.loads(a.recipe))
    indices = [int(x) for x in a.indices.split(",")] if a.indices else list(range(a.offset, a.offset + a.k))
    rows = run(a.space, indices, recipe, a.im_size, a.flops_max)
    errs = [r["err_final"] for r in rows]
    print(json.dumps({"summary": True, "space": a.space, "recipe": json.loads(a.recipe), "im_size": a.im_size,
                      "median_err_final": statistics.median(errs),
                      "at_chance": sum(e >= 90 - CHANCE_MARGIN for e in errs),
                      "median_seconds": statistics.median(r["seconds"] for r in rows),
                      "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in rows)}), flush=True)


if __name__ == "__main__":
    main()

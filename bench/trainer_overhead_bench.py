"""Trainer step time against a bare PyTorch loop: same model, batch, data and device (CPU), side by side.

The bare loop is the minimum any trainer must do per step (forward, cross-entropy, zero_grad, backward,
SGD step) over the very same batches (the same on-device data source and seeds). The netspace trainer adds
its stop-request poll, on-device loss/accuracy accumulation and the periodic divergence check.

This machine is shared, so wall time drifts by whole factors while other work runs. To compare like with
like, epochs alternate bare/trainer, every step is timed (a timestamp at each batch hand-out, identical
for both loops), and per-step medians and lower quartiles are compared. One torch thread by default:
with two threads a single descheduled thread stalls every op, which is noise, not trainer cost.

Run: `python -m bench.trainer_overhead_bench [--rounds N] [--threads T]`. Target: trainer / bare <= 1.05.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from backend.study_spec import DatasetSpec, Recipe
from workers.data import Batch, DataSource, load_dataset
from workers.model import build_model
from workers.train import Trainer, epoch_seed

MODEL = {"type": "regnet", "depth": 13, "w0": 24, "wa": 36.44, "wm": 2.49, "group_w": 8}  # RegNetX-200MF
IM_SIZE = 32
BATCH = 128


class StepClock:
    """Wraps a data source; stamps the clock whenever a batch is handed out and when the epoch ends."""

    def __init__(self, data: DataSource) -> None:
        self.data = data
        self.steps_ms: list[float] = []

    def __getattr__(self, name: str):
        return getattr(self.data, name)

    def train_batches(self, batch_size: int, seed: int) -> Iterator[Batch]:
        last = None
        for batch in self.data.train_batches(batch_size, seed):
            now = time.perf_counter()
            if last is not None:
                self.steps_ms.append((now - last) * 1000)
            last = now
            yield batch
        self.steps_ms.append((time.perf_counter() - last) * 1000)


def bare_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, data: StepClock, seed: int, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr
    model.train()
    for x, y in data.train_batches(BATCH, seed):
        loss = F.cross_entropy(model(x.contiguous(memory_format=torch.channels_last)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def main(rounds: int = 6, threads: int = 1) -> list[tuple[str, float, str]]:
    torch.set_num_threads(threads)
    device = torch.device("cpu")
    data = load_dataset(DatasetSpec(), IM_SIZE, device)
    bare_data, trainer_data = StepClock(data), StepClock(data)
    recipe = Recipe(epochs=rounds + 1, batch_size=BATCH)
    torch.manual_seed(0)
    bare_model = build_model(MODEL, data.num_classes).to(memory_format=torch.channels_last)
    torch.manual_seed(0)
    model = build_model(MODEL, data.num_classes).to(memory_format=torch.channels_last)  # as train_model does
    trainer = Trainer(model, trainer_data, recipe, device, should_stop=lambda: False)
    bare_opt = torch.optim.SGD(bare_model.parameters(), lr=recipe.lr_at(0), momentum=recipe.momentum,
                               weight_decay=recipe.wd, nesterov=recipe.nesterov)
    bare_epoch(bare_model, bare_opt, bare_data, 0, recipe.lr_at(0))  # warm-up both (allocator, oneDNN)
    trainer.train_epoch(0, 0)
    bare_data.steps_ms.clear()
    trainer_data.steps_ms.clear()
    for r in range(1, rounds + 1):
        seed = epoch_seed(1, r)
        bare_epoch(bare_model, bare_opt, bare_data, seed, recipe.lr_at(r))
        trainer.train_epoch(r, seed)
        print(f"round {r}: bare {statistics.median(bare_data.steps_ms[-10:]):.1f} ms/step, "
              f"trainer {statistics.median(trainer_data.steps_ms[-10:]):.1f} ms/step", flush=True)
    bare, ours = np.asarray(bare_data.steps_ms), np.asarray(trainer_data.steps_ms)
    what = f"RegNetX-200MF {IM_SIZE}px batch {BATCH}, CPU {threads} thread(s), {len(ours)} steps"
    rows = [
        (f"bare PyTorch step, median ({what})", float(np.median(bare)), "ms"),
        (f"netspace trainer step, median ({what})", float(np.median(ours)), "ms"),
        ("trainer / bare step time, medians (target <= 1.05)", float(np.median(ours) / np.median(bare)), "x"),
        ("trainer / bare step time, lower quartiles", float(np.percentile(ours, 25) / np.percentile(bare, 25)),
         "x"),
    ]
    for metric, value, unit in rows:
        print(f"{metric}: {value:.3f} {unit}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    main(args.rounds, args.threads)

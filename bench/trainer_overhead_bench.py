"""Trainer step time against a bare PyTorch loop: same model, batches and device (CPU), side by side.

The bare loop is the minimum any trainer must do per step (forward, cross-entropy, zero_grad, backward,
SGD step). The netspace trainer's step (`Trainer.train_step`, what `train_model` runs) adds its stop-request
poll, the autocast context (off on CPU), the channels_last guard and on-device loss/accuracy accumulation.

This machine is shared and its wall time drifts by whole factors while other work runs, so the headline
comparison interleaves the two at the step level: the same batch goes through a bare step and a trainer
step (who goes first alternates), each timed, and the medians of the per-step times are compared. The
whole-epoch comparison (`Trainer.train_epoch`, which adds the per-epoch lr set and the NaN check every 16
steps, against a bare epoch over the same batches) is reported too; it is noisier. Both models start from
the same seeded init and see the same batches, in channels_last as train_model runs them. One torch
thread by default: with two, one descheduled thread stalls every op, which is noise, not trainer cost.

Run: `python -m bench.trainer_overhead_bench [--passes N] [--threads T]`. Target: trainer / bare <= 1.05.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from backend.study_spec import DatasetSpec, Recipe
from workers.data import load_dataset
from workers.model import build_model
from workers.train import Trainer, epoch_seed

MODEL = {"type": "regnet", "depth": 13, "w0": 24, "wa": 36.44, "wm": 2.49, "group_w": 8}  # RegNetX-200MF
IM_SIZE = 32
BATCH = 128


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main(passes: int = 4, threads: int = 1) -> list[tuple[str, float, str]]:
    torch.set_num_threads(threads)
    device = torch.device("cpu")
    data = load_dataset(DatasetSpec(), IM_SIZE, device)
    recipe = Recipe(epochs=2 * passes + 1, batch_size=BATCH)
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        models.append(build_model(MODEL, data.num_classes).to(memory_format=torch.channels_last))
    bare_model, trainer_model = models
    trainer = Trainer(trainer_model, data, recipe, device, should_stop=lambda: False)
    bare_opt = torch.optim.SGD(bare_model.parameters(), lr=recipe.lr_at(0), momentum=recipe.momentum,
                               weight_decay=recipe.wd, nesterov=recipe.nesterov)
    loss_sum, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)

    def bare_step(x: torch.Tensor, y: torch.Tensor) -> None:
        loss = F.cross_entropy(bare_model(x.contiguous(memory_format=torch.channels_last)), y)
        bare_opt.zero_grad(set_to_none=True)
        loss.backward()
        bare_opt.step()

    def trainer_step(x: torch.Tensor, y: torch.Tensor) -> None:
        nonlocal loss_sum, correct
        loss, n = trainer.train_step(x, y)  # plus what train_epoch does with its results
        loss_sum += loss
        correct += n

    def bare_epoch(seed: int) -> None:
        bare_model.train()
        for x, y in data.train_batches(BATCH, seed):
            bare_step(x, y)

    # step level: the same batch through both, order alternating
    bare_ms, trainer_ms = [], []
    batches = list(data.train_batches(BATCH, epoch_seed(1, 0)))
    bare_model.train()
    trainer.model.train()
    for x, y in batches[:2]:  # warm-up (allocator, oneDNN primitives)
        bare_step(x, y)
        trainer_step(x, y)
    for p in range(passes):
        for i, (x, y) in enumerate(batches):
            pair = [(bare_ms, lambda: bare_step(x, y)), (trainer_ms, lambda: trainer_step(x, y))]  # noqa: B023
            for times, fn in pair if (p + i) % 2 else pair[::-1]:
                times.append(timed(fn))
        print(f"pass {p}: bare {statistics.median(bare_ms):.1f} ms/step, trainer "
              f"{statistics.median(trainer_ms):.1f} ms/step (running medians)", flush=True)

    # epoch level: whole train_epoch against a bare epoch over the same batches, order alternating
    bare_ep, trainer_ep = [], []
    for r in range(1, passes + 1):
        seed = epoch_seed(2, r)
        pair = [(bare_ep, lambda: bare_epoch(seed)), (trainer_ep, lambda: trainer.train_epoch(r, seed))]  # noqa: B023
        for times, fn in pair if r % 2 else pair[::-1]:
            times.append(timed(fn))

    bare, ours = statistics.median(bare_ms), statistics.median(trainer_ms)
    what = f"RegNetX-200MF {IM_SIZE}px b{BATCH}, CPU {threads} thread(s)"
    rows = [
        (f"bare PyTorch step, median of {len(bare_ms)} ({what})", bare, "ms"),
        (f"netspace trainer step, median of {len(trainer_ms)} ({what})", ours, "ms"),
        ("trainer / bare step time, interleaved steps (target <= 1.05)", ours / bare, "x"),
        (f"trainer / bare epoch time, {passes} alternating epochs (noisier)",
         statistics.median(trainer_ep) / statistics.median(bare_ep), "x"),
    ]
    for metric, value, unit in rows:
        print(f"{metric}: {value:.3f} {unit}")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    main(args.passes, args.threads)

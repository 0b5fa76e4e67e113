"""GPU check: one prepared script to run when a GPU machine is lent (and with --quick --cpu in CI).

Measures, for a RegNetX-200MF-shaped model (the zoo's w0=24, wa=36.44, wm=2.49, d=13, g=8):
  1. training images/s at 32² and 224², fp32 vs bf16 autocast, NCHW vs channels_last (synthetic batches
     already on the device, so this is the model's own speed), plus the trainer's infer_ms measure;
  2. training images/s on real data (digits at 32²): GPU-resident tensors with on-device augmentation
     (netspace's path) vs a conventional DataLoader with per-sample CPU augmentation and worker processes;
  3. models trained per hour on one GPU with 1 vs K concurrent worker processes, each running the real
     `train_model` (paper recipe: 10 epochs, batch 128) on digits.
Each measurement is short; a --budget (seconds) skips what would not fit. Prints a table and writes JSON
to $OUT/gpu_check.json (or --out DIR) when given.

Run: `python -m bench.gpu_check` on the GPU host; `python -m bench.gpu_check --quick --cpu` anywhere.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from backend.study_spec import DatasetSpec, Recipe
from workers.data import digits_split, load_dataset
from workers.model import build_model
from workers.timing import device_label, median_forward_ms, synchronize, time_calls
from workers.train import epoch_seed, train_model

MODEL = {"type": "regnet", "depth": 13, "w0": 24, "wa": 36.44, "wm": 2.49, "group_w": 8}  # RegNetX-200MF


@dataclass
class Settings:
    """Sizes of every measurement: full on a GPU, tiny with --quick (CI keeps the script from rotting)."""

    batch: dict[int, int]  # im_size -> batch, for the synthetic-throughput section (its sizes: the keys)
    warmup: int
    steps: int
    data_batch: int
    data_epochs: int
    data_max_steps: int  # per epoch
    loader_workers: int
    procs: tuple[int, ...]  # concurrent worker-process counts to compare (1 is always added)
    models_per_proc: int
    model_epochs: int
    model_im_size: int
    warm_models: int  # untimed models per worker before the start signal (CUDA context, cuDNN autotune)
    model_batch: int = 128  # the paper's recipe

    @classmethod
    def make(cls, quick: bool, procs: tuple[int, ...]) -> Settings:
        if quick:
            return cls({16: 2}, 1, 1, 16, 1, 2, 2, procs, 1, 1, 16, 0)
        return cls({32: 128, 224: 128}, 5, 20, 128, 8, 1000, 6, procs, 8, 10, 32, 1)


Row = tuple[str, float, str]


def train_step_fn(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, opt: torch.optim.Optimizer,
                  bf16: bool):
    def step() -> None:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def model_throughput(device: torch.device, s: Settings) -> list[Row]:
    rows: list[Row] = []
    for im_size in s.batch:
        classes = 1000 if im_size >= 224 else 10
        batch = s.batch[im_size]
        for bf16 in (False, True):
            for channels_last in (False, True):
                torch.manual_seed(0)
                fmt = torch.channels_last if channels_last else torch.contiguous_format
                model = build_model(MODEL, classes).to(device, memory_format=fmt)
                x = torch.randn(batch, 3, im_size, im_size, device=device).contiguous(memory_format=fmt)
                y = torch.randint(0, classes, (batch,), device=device)
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
                ms = statistics.median(time_calls(train_step_fn(model, x, y, opt, bf16), device, s.warmup, s.steps))
                label = f"train {im_size}px b{batch} {'bf16' if bf16 else 'fp32'} {'NHWC' if channels_last else 'NCHW'}"
                rows.append((label, batch / ms * 1000, "img/s"))
                if bf16 and channels_last:
                    infer = median_forward_ms(model, x[:64] if batch >= 64 else x, s.warmup, s.steps, torch.bfloat16)
                    rows.append((f"infer_ms {im_size}px 64 images bf16 NHWC (trainer's measure)", infer, "ms"))
                del model, opt, x
    return rows


class CpuAugDigits(torch.utils.data.Dataset):
    """The conventional pipeline: images in host memory, per-sample pad-4 crop in numpy in loader workers."""

    def __init__(self, im_size: int) -> None:
        x_tr, _, y_tr, _ = digits_split()
        x = torch.from_numpy(x_tr)
        x = F.interpolate((x - x.mean()) / x.std(), size=(im_size, im_size), mode="bilinear", align_corners=False)
        self.x = x.expand(-1, 3, -1, -1).numpy().copy()
        self.y = y_tr
        self.pad = im_size // 8

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        p = self.pad
        img = np.pad(self.x[i], ((0, 0), (p, p), (p, p)))
        oy, ox = np.random.randint(0, 2 * p, 2)
        h, w = self.x.shape[2:]
        return torch.from_numpy(np.ascontiguousarray(img[:, oy:oy + h, ox:ox + w])), int(self.y[i])


def data_paths(device: torch.device, s: Settings) -> list[Row]:
    """Same model, batch and step; only where batches come from differs."""
    batch, im_size = s.data_batch, 32
    bf16 = device.type == "cuda"
    on_device = load_dataset(DatasetSpec(), im_size, device)
    loader = torch.utils.data.DataLoader(
        CpuAugDigits(im_size), batch_size=batch, shuffle=True, drop_last=True, num_workers=s.loader_workers,
        pin_memory=device.type == "cuda", persistent_workers=True)
    torch.manual_seed(0)
    model = build_model(MODEL, 10).to(device, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def run(batches) -> int:
        n = 0
        for step, (x, y) in enumerate(batches):
            if step == s.data_max_steps:
                break
            x = x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            train_step_fn(model, x, y.to(device, non_blocking=True), opt, bf16)()
            n += x.shape[0]
        return n

    rows = []
    for name, epoch_batches in (
        ("GPU-resident tensors, on-device aug" if bf16 else "device-resident tensors, on-device aug",
         lambda e: on_device.train_batches(batch, epoch_seed(0, e))),
        (f"DataLoader, {s.loader_workers} workers, CPU aug", lambda e: iter(loader)),
    ):
        run(epoch_batches(0))  # warm-up (and loader worker start)
        synchronize(device)
        t0 = time.perf_counter()
        n = sum(run(epoch_batches(e)) for e in range(1, s.data_epochs + 1))
        synchronize(device)
        rows.append((f"train digits {im_size}px b{batch}: {name}", n / (time.perf_counter() - t0), "img/s"))
    return rows


def _worker_proc(rank: int, n_procs: int, device: str, s: Settings, start, results) -> None:
    """One worker process: warm up (CUDA context, cuDNN autotune), wait for the start signal, train."""
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // n_procs))
    recipe = Recipe(epochs=s.model_epochs, batch_size=s.model_batch)
    data = load_dataset(DatasetSpec(), s.model_im_size, device)
    for i in range(s.warm_models):
        train_model(MODEL, data, Recipe(epochs=1, batch_size=recipe.batch_size), seed=rank + i, device=device)
    start.wait()
    t0 = time.perf_counter()
    times = []
    for i in range(s.models_per_proc):
        t = time.perf_counter()
        train_model(MODEL, data, recipe, seed=1000 * rank + i, device=device)
        times.append(time.perf_counter() - t)
    results.put((rank, t0, time.perf_counter(), times))


def models_per_hour(device: torch.device, s: Settings, procs: int) -> tuple[float, float]:
    """(models/hour, median seconds per model) with `procs` concurrent worker processes."""
    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(procs + 1), ctx.Queue()
    ps = [ctx.Process(target=_worker_proc, args=(r, procs, str(device), s, start, results)) for r in range(procs)]
    for p in ps:
        p.start()
    start.wait(timeout=300)  # every worker warmed up
    t0 = time.perf_counter()
    out = [results.get(timeout=900) for _ in ps]
    wall = time.perf_counter() - t0
    for p in ps:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"worker process exited with {p.exitcode}")
    per_model = statistics.median(t for *_, times in out for t in times)
    return procs * s.models_per_proc / wall * 3600, per_model


def concurrency(device: torch.device, s: Settings) -> list[Row]:
    what = f"RegNetX-200MF, digits {s.model_im_size}px, {s.model_epochs} ep, b{s.model_batch}"
    rows = []
    for procs in sorted({1, *s.procs}):
        rate, per_model = models_per_hour(device, s, procs)
        rows.append((f"models/hour, {procs} worker(s) on one {device.type} ({what})", rate, "models/h"))
        rows.append((f"seconds per model, {procs} worker(s)", per_model, "s"))
    return rows


def environment(device: torch.device) -> dict[str, str]:
    env = {"device": device_label(device), "torch": torch.__version__, "python": platform.python_version(),
           "cpus": str(os.cpu_count())}
    if device.type == "cuda":
        env["cuda"] = str(torch.version.cuda)
        env["cudnn"] = str(torch.backends.cudnn.version())
    return env


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description="netspace GPU check")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke run)")
    parser.add_argument("--cpu", action="store_true", help="run on CPU even if CUDA is present")
    parser.add_argument("--workers", default=None,
                        help="K concurrent worker processes, or a list like 4,8 (default 4; quick 2)")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds; later sections are skipped past it")
    parser.add_argument("--out", default=os.environ.get("OUT"), help="folder for gpu_check.json (default $OUT)")
    args = parser.parse_args(argv)
    device = torch.device("cpu" if args.cpu or not torch.cuda.is_available() else "cuda")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    procs = tuple(int(k) for k in args.workers.split(",")) if args.workers else ((2,) if args.quick else (4,))
    s = Settings.make(args.quick, procs)
    t_start = time.perf_counter()
    rows: list[Row] = []
    report: dict = {"environment": environment(device), "settings": vars(s), "sections": {}}
    print(f"device: {report['environment']}", flush=True)
    for name, section in (("throughput", model_throughput), ("data", data_paths), ("workers", concurrency)):
        if time.perf_counter() - t_start > args.budget:
            report["sections"][name] = "skipped: over budget"
            print(f"[{name}] skipped: over the {args.budget:.0f}s budget", flush=True)
            continue
        t0 = time.perf_counter()
        got = section(device, s)
        report["sections"][name] = {"seconds": time.perf_counter() - t0, "rows": got}
        for metric, value, unit in got:
            print(f"[{name}] {metric}: {value:,.1f} {unit}", flush=True)
        rows += got
    report["total_seconds"] = time.perf_counter() - t_start
    width = max(len(m) for m, _, _ in rows)
    print(f"\n{report['environment']['device']}, torch {torch.__version__}, {report['total_seconds']:.0f}s")
    print(f"| {'metric'.ljust(width)} | {'value':>12} | unit |")
    for metric, value, unit in rows:
        print(f"| {metric.ljust(width)} | {value:>12,.1f} | {unit} |")
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "gpu_check.json").write_text(json.dumps(report, indent=1))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])

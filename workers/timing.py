"""Wall-clock timing of forward passes that is honest on GPUs (kernels run asynchronously).

Shared by the trainer (each result's `infer_ms`) and the benchmarks, so both measure the same way:
warm-up passes first (cuDNN autotuning, allocator growth), then each timed pass is bracketed by device
synchronisation, and the median is reported (robust to a stray slow pass on a shared machine).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_label(device: torch.device) -> str:
    """'cpu' or 'cuda:0 (NVIDIA H100 80GB HBM3)': what a result records as the device it ran on."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)


def time_calls(fn: Callable[[], object], device: torch.device, warmup: int, iters: int) -> list[float]:
    """Milliseconds of each of `iters` calls of fn after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def median_forward_ms(model: torch.nn.Module, x: torch.Tensor, warmup: int = 3, iters: int = 10,
                      autocast_dtype: torch.dtype | None = None) -> float:
    """Median ms of one eval-mode forward pass of batch x (under autocast when a dtype is given)."""
    was_training = model.training
    model.eval()

    def forward() -> None:
        with torch.autocast(x.device.type, dtype=autocast_dtype or torch.float32,
                            enabled=autocast_dtype is not None):
            model(x)

    try:
        with torch.inference_mode():
            return statistics.median(time_calls(forward, x.device, warmup, iters))
    finally:
        model.train(was_training)

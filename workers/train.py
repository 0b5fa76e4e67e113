"""Train one sampled model with a study's recipe: the work a worker does for one job.

One code path for CPU and CUDA; only two switches differ on CUDA (bf16 autocast, cudnn.benchmark; the CPU
trains in float32). Model and inputs are channels_last on both: cuDNN wants it for bf16 tensor cores, and
oneDNN on this CPU ran a RegNetX-200MF step at 32² about 1.7× faster in channels_last than in NCHW.
The schedule follows pycls: the learning rate is set once per epoch from `Recipe.lr_at(epoch)`; SGD with
momentum/Nesterov and weight decay on every parameter (pycls's default).

The trainer never touches the database: the worker passes `on_epoch` (write metrics, heartbeat) and
`should_stop` (lease lost, SIGTERM), and records whatever `TrainingError` says when a job fails.

Divergence (a non-finite training loss) is a result, not a failure: training stops, the model as it is
is evaluated on the test set (rows whose logits contain NaN count as wrong, so a fully NaN network
scores 100 % error), and the result carries `diverged=True`. Its headline `error` is still the minimum over
all evaluated epochs, the diverged one included, exactly as for any other model.

A run that stays finite but learns nothing (final error near chance, or final training loss above the first
batch's) is a result too, flagged `did_not_learn` (backend.analysis.failures); the first batch's loss is kept
as `initial_loss` so the flag can be checked later.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from backend.analysis.failures import did_not_learn
from backend.designspace.config import AnyNetConfig
from backend.fielderrors import InvalidField, validation_errors
from backend.study_spec import DatasetSpec, Recipe

from .data import DataSource, load_dataset
from .model import build_model
from .timing import device_label, median_forward_ms

INFER_BATCH = 64
INFER_WARMUP = 3
INFER_ITERS = 10
DIVERGENCE_CHECK_EVERY = 16  # steps between loss checks: each check syncs the GPU, so not every step


class TrainingStopped(Exception):  # a stop request, not an error
    """`should_stop()` returned True (lease lost, SIGTERM): the job should go back to the queue."""


class TrainingError(RuntimeError):
    """The job failed (bad config, missing dataset, CUDA out of memory, ...); str() is the reason to record."""


@dataclass
class EpochMetrics:
    """One epoch as the worker stores it; errors in percent, train_loss None when it was not finite."""

    epoch: int  # 0-based
    epochs: int
    lr: float
    train_loss: float | None
    train_error: float
    test_error: float
    seconds: float
    diverged: bool = False


@dataclass
class TrainResult:
    error: float  # min over epochs of test top-1 error, percent (NDS/pycls headline)
    error_final: float  # last evaluated epoch's test error
    diverged: bool
    epochs: list[EpochMetrics]
    train_seconds: float  # wall time of all epochs (train + test), excluding data loading and timing
    infer_ms: float  # median ms of a forward pass of a 64-image batch after warm-up
    device: str
    num_params: int
    initial_loss: float | None = None  # the first training batch's loss (the untrained network's), None if NaN
    did_not_learn: bool | None = None  # backend.analysis.failures.did_not_learn of this run

    @property
    def test_errors(self) -> list[float]:
        return [e.test_error for e in self.epochs]

    @property
    def train_losses(self) -> list[float | None]:
        return [e.train_loss for e in self.epochs]

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (no NaN/inf anywhere)."""
        return asdict(self)

    def as_result(self) -> dict[str, Any]:
        """Exactly the keys `db.queue.complete_job` stores: headline and final error, diverged flag,
        per-epoch curves, train_seconds, infer_ms, device, initial loss and the did-not-learn flag."""
        return {
            "error": self.error, "error_final": self.error_final, "diverged": self.diverged,
            "train_loss": self.train_losses, "train_error": [e.train_error for e in self.epochs],
            "test_error": self.test_errors, "train_seconds": self.train_seconds, "infer_ms": self.infer_ms,
            "device": self.device, "initial_loss": self.initial_loss, "did_not_learn": self.did_not_learn,
        }


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' → cuda if available, else cpu; 'cuda:N' is checked against the visible devices."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidField("device", f"{device} requested but CUDA is not available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InvalidField("device", f"{device} does not exist ({torch.cuda.device_count()} CUDA devices)")
    elif dev.type != "cpu":
        raise InvalidField("device", f"must be auto, cpu or cuda[:N], got {device}")
    return dev


def seed_everything(seed: int) -> None:
    """pycls seeds numpy, torch and random from the job seed; model init then depends on it alone."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of one epoch's data order and augmentation, distinct per (job seed, epoch)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1)


@contextlib.contextmanager
def _failures_as(context: str) -> Iterator[None]:
    """Turn anything but a stop request into a TrainingError whose message a worker can store as-is."""
    try:
        yield
    except (TrainingStopped, TrainingError):
        raise
    except torch.cuda.OutOfMemoryError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "no detail"
        raise TrainingError(f"{context}: CUDA out of memory ({first})") from e
    except ValidationError as e:
        raise TrainingError(f"{context}: invalid model config: " + "; ".join(map(str, validation_errors(e)))) from e
    except Exception as e:  # every other failure is the job's, recorded with its reason
        raise TrainingError(f"{context}: {type(e).__name__}: {e}") from e


class Trainer:
    """One training run's model, optimiser and loops (public so benchmarks can time train_epoch alone)."""

    def __init__(self, model: torch.nn.Module, data: DataSource, recipe: Recipe, device: torch.device,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.model, self.data, self.recipe, self.device = model, data, recipe, device
        self.cuda = device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.cuda else None
        self.should_stop = should_stop or (lambda: False)
        self.initial_loss: float | None = None  # the first step's loss: what "loss went up" compares against
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=recipe.lr_at(0), momentum=recipe.momentum, dampening=0.0,
            weight_decay=recipe.wd, nesterov=recipe.nesterov and recipe.momentum > 0,
        )

    def _autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp_dtype is not None)

    def _check_stop(self) -> None:
        if self.should_stop():
            raise TrainingStopped("stop requested")

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One SGD step; returns (loss, number correct) as device tensors, so the step never waits on the GPU."""
        self._check_stop()
        x = x.contiguous(memory_format=torch.channels_last)  # no copy when already so
        with self._autocast():
            logits = self.model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=self.recipe.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach(), (logits.detach().argmax(1) == y).sum()

    def train_epoch(self, epoch: int, seed: int) -> tuple[float, float, bool]:
        """One epoch at lr_at(epoch); returns (mean loss, error %, diverged). Loss and correct counts are
        accumulated on the device; only every few steps does the host wait, to look for a NaN."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.recipe.lr_at(epoch)
        self.model.train()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        steps = seen = 0
        for x, y in self.data.train_batches(self.recipe.batch_size, seed):
            loss, n_correct = self.train_step(x, y)
            if self.initial_loss is None:  # one host sync per run, on its first step
                first = loss.item()
                self.initial_loss = first if math.isfinite(first) else float("nan")
            loss_sum += loss
            correct += n_correct
            steps += 1
            seen += y.shape[0]
            if steps % DIVERGENCE_CHECK_EVERY == 0 and not torch.isfinite(loss_sum):
                break
        self._check_stop()
        if steps == 0:
            raise InvalidField("recipe.batch_size", f"{self.recipe.batch_size} is larger than the training set "
                             f"({self.data.num_train} images), so an epoch has no step")
        mean_loss = loss_sum.item() / steps
        return mean_loss, 100.0 * (1.0 - correct.item() / seen), not math.isfinite(mean_loss)

    @torch.inference_mode()
    def test_error(self) -> float:
        """Top-1 test error %; a row whose logits hold a NaN predicts nothing and counts as wrong."""
        self.model.eval()
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        total = 0
        for x, y in self.data.test_batches(self.recipe.eval_batch_size):
            self._check_stop()
            with self._autocast():
                logits = self.model(x.contiguous(memory_format=torch.channels_last)).float()
            ok = (logits.argmax(1) == y) & ~torch.isnan(logits).any(1)
            correct += ok.sum()
            total += y.shape[0]
        return 100.0 * (1.0 - correct.item() / total)


def train_model(
    config: AnyNetConfig | dict[str, Any] | str,
    data: DataSource | DatasetSpec,
    recipe: Recipe,
    *,
    seed: int,
    im_size: int | None = None,
    device: str | torch.device = "auto",
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    num_workers: int | None = None,
) -> TrainResult:
    """Build `config`, train it for recipe.epochs on `data`, evaluate each epoch, time inference.

    data: a DatasetSpec (loaded here at im_size, default the dataset's own) or a source from
    `load_dataset` that the caller reuses between jobs (it must live on `device`).
    seed: the per-job seed (`backend.study_spec.job_seed`); recipe.seed is the study's and is not used here.
    on_epoch(metrics): called after every epoch, outside the failure wrapper (its exceptions propagate).
    should_stop(): polled before every step and test batch; True raises TrainingStopped.
    Raises TrainingStopped, or TrainingError with a one-line reason for anything else that goes wrong.
    """
    with _failures_as("setup"):
        dev = resolve_device(device)
        if isinstance(data, DatasetSpec):
            data = load_dataset(data, im_size or data.default_im_size(), dev, num_workers=num_workers)
        elif data.device.type != dev.type:
            raise InvalidField("device", f"data is on {data.device} but training was asked on {dev}")
        seed_everything(seed)
        model = build_model(config, data.num_classes, zero_init_final_gamma=recipe.zero_init_final_gamma)
        model = model.to(dev, memory_format=torch.channels_last)  # type: ignore[call-overload]
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
        run = Trainer(model, data, recipe, dev, should_stop)
    try:
        return _train_epochs(run, recipe, seed, on_epoch)
    finally:
        del run, model
        if dev.type == "cuda":
            torch.cuda.empty_cache()  # an OOM in this job must not starve the next one


def _train_epochs(run: Trainer, recipe: Recipe, seed: int, on_epoch: Callable[[EpochMetrics], None] | None
                  ) -> TrainResult:
    history: list[EpochMetrics] = []
    train_seconds = 0.0
    for epoch in range(recipe.epochs):
        start = time.perf_counter()
        with _failures_as(f"epoch {epoch + 1}/{recipe.epochs}"):
            loss, train_err, diverged = run.train_epoch(epoch, epoch_seed(seed, epoch))
            test_err = run.test_error()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        metrics = EpochMetrics(epoch, recipe.epochs, recipe.lr_at(epoch), None if diverged else loss,
                               train_err, test_err, seconds, diverged)
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
        if diverged:
            break
    with _failures_as("inference timing"):
        x = run.data.example_batch(INFER_BATCH).contiguous(memory_format=torch.channels_last)
        infer_ms = median_forward_ms(run.model, x, INFER_WARMUP, INFER_ITERS, run.amp_dtype)
    initial = run.initial_loss if run.initial_loss is not None and math.isfinite(run.initial_loss) else None
    return TrainResult(
        error=min(m.test_error for m in history),
        error_final=history[-1].test_error,
        diverged=history[-1].diverged,
        epochs=history,
        train_seconds=train_seconds,
        infer_ms=infer_ms,
        device=device_label(run.device),
        num_params=sum(p.numel() for p in run.model.parameters()),
        initial_loss=initial,
        did_not_learn=did_not_learn(history[-1].test_error, run.data.num_classes, diverged=history[-1].diverged,
                                    initial_loss=initial, final_loss=history[-1].train_loss),
    )

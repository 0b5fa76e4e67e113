"""What a study trains on and how: dataset and training-recipe schemas (pydantic, no torch).

The API validates these when a study is created, the database stores them as JSON, and workers parse
the same JSON with the same classes, so every layer agrees on field names, defaults and ranges.
Defaults are the paper's low-cost regime (PAPER_FACTS.md §3.1): 10 epochs, batch 128, SGD momentum 0.9
(Nesterov), base lr 0.05 at batch 128 scaled linearly, weight decay 5e-5, half-period cosine.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.datasets import Dataset, dataset_names, get_dataset
from backend.fielderrors import InvalidField

if TYPE_CHECKING:  # the registry's names as a Literal for pydantic (and the OpenAPI schema); str to checkers
    DatasetName = str
else:
    DatasetName = Literal[dataset_names()]


class DatasetSpec(BaseModel):
    """A study's dataset: a name from the dataset registry (backend.datasets, GET /api/datasets) and, for those
    that need one, the path of its data on the workers' file system. Every rule comes from the entry."""

    model_config = ConfigDict(extra="forbid")

    name: DatasetName = "digits"
    path: str | None = Field(default=None, max_length=4096)

    @model_validator(mode="after")
    def _path_rules(self) -> DatasetSpec:
        self.entry().check_path(self.path)
        return self

    def entry(self) -> Dataset:
        return get_dataset(self.name)

    def check_exists(self) -> None:
        """Raise InvalidField('path') naming what is missing when the dataset is not where the spec says."""
        self.entry().check_exists(self.path)  # inside the data roots (NETSPACE_DATA_ROOTS) and there

    def root(self) -> Path:
        """The dataset's directory, resolved and inside the data roots (NETSPACE_DATA_ROOTS), else the same
        error `check_exists` gives for a missing dataset."""
        return self.entry().root(self.path)

    def num_classes(self) -> int:
        return self.entry().num_classes(self.path)

    def default_im_size(self) -> int:
        return self.entry().im_size


class Recipe(BaseModel):
    """Training recipe; `lr` is the base rate at batch 128 and is scaled linearly with the batch size."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=10, ge=1, le=1000)
    batch_size: int = Field(default=128, ge=1, le=8192)
    lr: float = Field(default=0.05, gt=0, le=100, description="base lr at batch 128")
    momentum: float = Field(default=0.9, ge=0, lt=1)
    nesterov: bool = True
    wd: float = Field(default=5e-5, ge=0, le=1)
    lr_policy: Literal["cos"] = "cos"
    warmup_epochs: int = Field(default=0, ge=0, le=100)
    warmup_factor: float = Field(default=0.1, gt=0, le=1)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    zero_init_final_gamma: bool = Field(
        default=False, description="start each residual block's last BN scale at 0 (pycls BN.ZERO_INIT_FINAL_GAMMA)")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    eval_batch_size: int = Field(default=256, ge=1, le=8192)

    @field_validator("lr", "wd", "momentum", "label_smoothing", "warmup_factor")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _warmup_within_epochs(self) -> Recipe:
        if self.warmup_epochs >= self.epochs and self.warmup_epochs > 0:
            raise InvalidField("warmup_epochs", f"must be < epochs ({self.epochs}), got {self.warmup_epochs}")
        return self

    def scaled_lr(self) -> float:
        return self.lr * self.batch_size / 128

    def lr_at(self, epoch: int) -> float:
        """pycls's per-epoch schedule: half-period cosine, optional linear warmup (PYCLS_FACTS.md §f)."""
        lr = self.scaled_lr() * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        if epoch < self.warmup_epochs:
            alpha = epoch / self.warmup_epochs
            lr *= self.warmup_factor * (1.0 - alpha) + alpha
        return lr


#: Named recipes, the one place each is written down. "cpu-proxy" is the CPU-scale proxy calibrated on digits
#: (docs/proxy-recipe.md: what was tried, error and time per model): the paper's recipe family (SGD + Nesterov,
#: half-period cosine with a linear warm-up, a fixed per-model budget, no per-model tuning), sized so that the
#: tiny models of the demo regime learn in seconds on one CPU core instead of exploding in their first steps.
#: Zero-initialised final BN scales (pycls's RegNet setting) let the 25-49-block models of the regime learn in
#: 220 steps; the high base rate is what the tiny and narrow ones need (they underfit, not overfit).
#: The demo, the tutorial's digits chain (`netspace study --preset cpu-proxy`) and the Queue page's Tiny
#: preset (GET /api/recipes) all train with it.
RECIPE_PRESETS: dict[str, dict[str, int | float | bool]] = {
    "cpu-proxy": {"epochs": 10, "batch_size": 64, "lr": 0.4, "wd": 5e-4, "warmup_epochs": 1,
                  "zero_init_final_gamma": True},
}


def recipe_preset(name: str) -> Recipe:
    """The named preset as a Recipe; InvalidField('preset') naming the presets for an unknown name."""
    if name not in RECIPE_PRESETS:
        raise InvalidField("preset", f"unknown recipe preset {name!r}", allowed=", ".join(sorted(RECIPE_PRESETS)))
    return Recipe.model_validate(RECIPE_PRESETS[name])


def job_seed(study_seed: int, model_index: int) -> int:
    """Per-job seed: distinct per model, reproducible from the study seed (a 31-bit mix)."""
    x = (study_seed * 0x9E3779B1 + model_index * 0x85EBCA77 + 0x27D4EB2F) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    return x & 0x7FFFFFFF

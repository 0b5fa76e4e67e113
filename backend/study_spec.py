"""What a study trains on and how: dataset and training-recipe schemas (pydantic, no torch).

The API validates these when a study is created, the database stores them as JSON, and workers parse
the same JSON with the same classes, so every layer agrees on field names, defaults and ranges.
Defaults are the paper's low-cost regime (PAPER_FACTS.md §3.1): 10 epochs, batch 128, SGD momentum 0.9
(Nesterov), base lr 0.05 at batch 128 scaled linearly, weight decay 5e-5, half-period cosine.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.fielderrors import InvalidField

DATASET_CLASSES = {"digits": 10, "cifar10": 10}
DEFAULT_IM_SIZE = {"digits": 32, "cifar10": 32, "imagefolder": 224}


class DatasetSpec(BaseModel):
    """`digits` needs nothing (scikit-learn ships it); `cifar10` and `imagefolder` need a local path."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["digits", "cifar10", "imagefolder"] = "digits"
    path: str | None = Field(default=None, max_length=4096)

    @model_validator(mode="after")
    def _path_rules(self) -> DatasetSpec:
        if self.name == "digits":
            if self.path is not None:
                raise InvalidField("path", "the digits dataset is bundled with scikit-learn and takes no path")
            return self
        if not self.path:
            raise InvalidField("path", f"required for dataset '{self.name}'")
        if "\x00" in self.path:
            raise InvalidField("path", "must not contain NUL bytes")
        if ".." in Path(self.path).parts:
            # a study's path is read by every worker; climbing out of where it says is never what a lab means
            raise InvalidField("path", "must not contain '..' components (give the dataset's own directory)")
        return self

    def check_exists(self) -> None:
        """Raise ValueError naming the path when the dataset is not where the spec says."""
        if self.name == "digits":
            return
        root = Path(self.path or "").expanduser()
        if self.name == "cifar10":
            need = [root / "data_batch_1", root / "test_batch"]
        else:
            need = [root / "train", root / "val"]
        missing = [str(p) for p in need if not p.exists()]
        if missing:
            raise InvalidField("path", f"dataset '{self.name}' not found at {self.path} (missing {', '.join(missing)})")

    def num_classes(self) -> int:
        if self.name in DATASET_CLASSES:
            return DATASET_CLASSES[self.name]
        train = Path(self.path or "").expanduser() / "train"
        return sum(1 for p in train.iterdir() if p.is_dir()) if train.is_dir() else 0

    def default_im_size(self) -> int:
        return DEFAULT_IM_SIZE[self.name]


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


def job_seed(study_seed: int, model_index: int) -> int:
    """Per-job seed: distinct per model, reproducible from the study seed (a 31-bit mix)."""
    x = (study_seed * 0x9E3779B1 + model_index * 0x85EBCA77 + 0x27D4EB2F) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    return x & 0x7FFFFFFF

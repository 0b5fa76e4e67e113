"""Learning failures: which trained models did not learn, and how a population states its failures.

A population compares design spaces only if its members were trained; a model that never learned is still a
member (the paper's EDFs include every sampled model), but a reader must see how many there are. Two flags:

- `diverged` (set by the trainer): the training loss became non-finite.
- `did_not_learn` (this module): the model finished with a finite loss but learned (almost) nothing — its final
  test error lies within CHANCE_MARGIN of chance (chance = 1 - 1/num_classes, e.g. 90 % on digits), or its final
  training loss is above its initial one (it got worse than its random initialisation).

The margin is relative to chance: 10 % of it, i.e. 81 % error and above on a 10-class dataset, 89.9 % on
ImageNet. Every digits model measured while calibrating the CPU proxy (docs/proxy-recipe.md) that learned at all
ended at 62 % or below, every one that exploded in its first epoch at 84-90 %, so the margin separates the two
groups with room on both sides; on ImageNet-scale imports (NDS) a 10-epoch model
at 90 % error has learned next to nothing too.

The flags are exclusive: a diverged model is not also counted as "did not learn", so legends add up
("n=48, 1 diverged, 2 did not learn"). Pure Python/numpy, no database: the trainer, the importers and the
figures all call the same functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: fraction of the chance error within which a final error counts as "did not learn"
CHANCE_MARGIN = 0.10


def chance_error(num_classes: int | None) -> float | None:
    """Top-1 error in percent of a model that guesses: 100 * (1 - 1/k); None when k is unknown or < 2."""
    if num_classes is None or num_classes < 2:
        return None
    return 100.0 * (1.0 - 1.0 / num_classes)


def at_chance(error: float | None, num_classes: int | None) -> bool | None:
    """Whether `error` (percent) lies within CHANCE_MARGIN of chance; None when either is unknown."""
    chance = chance_error(num_classes)
    if chance is None or error is None or not math.isfinite(error):
        return None
    return error >= chance * (1.0 - CHANCE_MARGIN)


def did_not_learn(error_final: float | None, num_classes: int | None, *, diverged: bool = False,
                  initial_loss: float | None = None, final_loss: float | None = None) -> bool | None:
    """The did-not-learn flag of one model (see the module docstring).

    False for a diverged model (it has its own flag). None when nothing can be decided: neither the chance
    criterion (error and class count known) nor the loss criterion (both losses finite) applies.
    """
    if diverged:
        return False
    chance = at_chance(error_final, num_classes)
    loss_up = None
    if initial_loss is not None and final_loss is not None and math.isfinite(initial_loss) \
            and math.isfinite(final_loss):
        loss_up = final_loss > initial_loss
    if chance is None and loss_up is None:
        return None
    return bool(chance) or bool(loss_up)


@dataclass(frozen=True)
class FailureCounts:
    """How many of n models diverged and how many did not learn (exclusive)."""

    n: int
    diverged: int
    did_not_learn: int

    @property
    def failed(self) -> int:
        return self.diverged + self.did_not_learn

    def label(self) -> str:
        """'n=48', or 'n=48, 1 diverged, 2 did not learn' (only the non-zero counts)."""
        parts = [f"n={self.n}"]
        if self.diverged:
            parts.append(f"{self.diverged} diverged")
        if self.did_not_learn:
            parts.append(f"{self.did_not_learn} did not learn")
        return ", ".join(parts)


def count_failures(diverged: np.ndarray, not_learned: np.ndarray, rows: np.ndarray | None = None) -> FailureCounts:
    """Count the flags over `rows` (a boolean mask or index array; all rows when None)."""
    dv = np.asarray(diverged, dtype=bool)
    dnl = np.asarray(not_learned, dtype=bool) & ~dv
    if rows is not None:
        dv, dnl = dv[rows], dnl[rows]
    return FailureCounts(n=int(dv.shape[0]), diverged=int(dv.sum()), did_not_learn=int(dnl.sum()))

"""What changed between consecutive steps of a refinement chain (A -> B -> ... -> RegNet).

The paper reads each refinement off two EDFs: did the constraint keep (or improve) the error distribution?
Per consecutive pair this gives both summaries (n, min, mean, median), the change of min and mean, and the
two-sample KS statistic with its p-value (backend.analysis.compare.ks_test: the largest vertical gap
between the two EDFs, the number the overlaid plot shows). A step without finished models has no summary
and no test (None), so a chain whose newest step is still training can be shown as it stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .compare import ks_test
from .edf import Summary, summarize
from .minimum_n import ks_absent


@dataclass(frozen=True)
class StepChange:
    """From step `a` to step `b`: both summaries, the changes of min/mean error (b - a) and the KS test."""

    a: str
    b: str
    stats_a: Summary | None
    stats_b: Summary | None
    delta_min: float | None
    delta_mean: float | None
    ks: float | None
    p_value: float | None

    @property
    def p_absent(self) -> str | None:
        """Why the p-value is not given (minimum_n.KS: fewer than 20 models on a side), None when it is."""
        if self.stats_a is None or self.stats_b is None:
            return "KS omitted: a step without finished models"
        return ks_absent(self.stats_a.n, self.stats_b.n)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: the p-value is null below the KS minimum n, with the reason in `ks_absent` (the KS
        statistic, the largest gap between the EDFs, is a distance and stays)."""
        absent = self.p_absent
        return {"from": self.a, "to": self.b,
                "stats_from": self.stats_a.as_dict() if self.stats_a else None,
                "stats_to": self.stats_b.as_dict() if self.stats_b else None,
                "delta_min": self.delta_min, "delta_mean": self.delta_mean, "ks": self.ks,
                "p_value": None if absent else self.p_value, "ks_absent": absent}


def summary_or_none(errors: np.ndarray) -> Summary | None:
    """summarize() over the finite errors, None when there is none."""
    e = np.asarray(errors, dtype=np.float64)
    return summarize(e) if np.isfinite(e).any() else None


def consecutive_changes(errors: Mapping[str, np.ndarray]) -> list[StepChange]:
    """One StepChange per consecutive pair of `errors` (an ordered chain: label -> error column)."""
    labels = list(errors)
    stats = {k: summary_or_none(errors[k]) for k in labels}
    out = []
    for a, b in zip(labels, labels[1:], strict=False):
        sa, sb = stats[a], stats[b]
        if sa is not None and sb is not None:
            ks, p = ks_test(errors[a], errors[b])
            out.append(StepChange(a, b, sa, sb, sb.min - sa.min, sb.mean - sa.mean, ks, p))
        else:
            out.append(StepChange(a, b, sa, sb, None, None, None, None))
    return out

"""Seeded, vectorised rejection sampling of a design space under a complexity regime.

Candidates are drawn in fixed-size chunks from one `numpy.random.Generator(seed)`, so (space, n, seed,
regime) gives the same configs on every machine, and a smaller n is a prefix of a larger one. Each chunk
is filtered cheapest-first: the family's structural constraints (its `propose`: monotone stages, RegNet's
stage count from closed forms in d, w0, wa, wm), then the analytic complexity of the survivors only, then
the regime. Rejection keeps the conditional distribution exact: accepted models are distributed as the
space's law restricted to the regime. A family may re-check the survivors exactly (`exact`: RegNet's
block-by-block generator), so the result is identical to `regnet.generate_regnet`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.fielderrors import InvalidField

from .batch import Batch
from .complexity import Counts, complexity_batch
from .config import AnyNetConfig
from .families import get_family
from .spec import SpaceSpec

CHUNK = 1 << 16  # candidates per chunk; part of the reproducibility contract, never machine-dependent
DEFAULT_MAX_CANDIDATES = 200_000_000
EMPTY_AFTER = 4_000_000  # this many candidates with no acceptance: call the regime empty
METRICS = ("flops", "params", "acts")


class SamplingError(InvalidField):
    """The regime cannot be met: empty (field `regime`), or n unreachable within the candidate budget (`n`)."""


@dataclass(frozen=True)
class Regime:
    """Closed [low, high] ranges on flops/params/acts (either side may be None = open)."""

    flops: tuple[float | None, float | None] | None = None
    params: tuple[float | None, float | None] | None = None
    acts: tuple[float | None, float | None] | None = None

    def __post_init__(self) -> None:
        for name in METRICS:
            rng = getattr(self, name)
            if rng is None:
                continue
            lo, hi = rng
            for side, v in (("low", lo), ("high", hi)):
                if v is not None and (not math.isfinite(v) or v < 0):
                    raise InvalidField(f"regime.{name}", f"{side} must be a finite number >= 0 (got {v})")
            if lo is not None and hi is not None and lo > hi:
                raise InvalidField(f"regime.{name}", f"low must be <= high (got {lo:g} > {hi:g})")

    def mask(self, counts: Counts) -> np.ndarray:
        keep = np.ones(len(counts.flops), dtype=bool)
        for name in METRICS:
            rng = getattr(self, name)
            if rng is None:
                continue
            vals = getattr(counts, name)
            lo, hi = rng
            if lo is not None:
                keep &= vals >= lo
            if hi is not None:
                keep &= vals <= hi
        return keep

    def is_empty(self) -> bool:
        return all(getattr(self, m) is None for m in METRICS)

    def as_dict(self) -> dict[str, list[float | None]]:
        return {m: list(getattr(self, m)) for m in METRICS if getattr(self, m) is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Regime:
        data = data or {}
        unknown = set(data) - set(METRICS)
        if unknown:
            raise InvalidField("regime", f"unknown keys {sorted(unknown)}; allowed {list(METRICS)}")
        out: dict[str, Any] = {}
        for m in METRICS:
            v = data.get(m)
            if v is None:
                continue
            if not isinstance(v, list | tuple) or len(v) != 2:
                raise InvalidField(f"regime.{m}", "must be [low, high]")
            out[m] = tuple(None if x is None else float(x) for x in v)
        return cls(**out)


# --------------------------------------------------------------------------------------------------

@dataclass
class SampleResult:
    space: SpaceSpec
    n_requested: int
    seed: int
    regime: Regime
    im_size: int
    num_classes: int
    batch: Batch
    candidates: int = 0  # drawn
    structural: int = 0  # passed the structural constraints (stage rule, monotone)
    in_regime: int = 0  # also passed the regime
    duplicates: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: finished records of a family that samples whole networks (Family.sample_records); None: `batch` holds them
    rows: list[dict[str, Any]] | None = None

    @property
    def acceptance_rate(self) -> float:
        return self.in_regime / self.candidates if self.candidates else 0.0

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else len(self.batch)

    def config(self, i: int) -> AnyNetConfig:
        return get_family(self.space.family).config(self.space, self.batch, i)

    def records(self) -> list[dict[str, Any]]:
        """One dict per model: index, canonical config, complexity and the sampled coordinates."""
        if self.rows is not None:
            return self.rows
        c = self.batch.counts
        if c is None:
            raise ValueError("records: the batch has no complexity counts")
        configs = get_family(self.space.family).config_dicts(self.space, self.batch)
        counts = zip(*(np.asarray(a, dtype=np.int64).tolist() for a in (c.flops, c.params, c.acts)), strict=True)
        columns = {k: _plain(v) for k, v in self.batch.sampled.items()}
        sampled = ([dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
                   if columns else [{} for _ in configs])
        return [{"index": i, "config": cfg, "flops": f, "params": p, "acts": a, "sampled": s}
                for i, (cfg, (f, p, a), s) in enumerate(zip(configs, counts, sampled, strict=True))]


def _plain(column: np.ndarray) -> list[int | float]:
    """A column as JSON numbers: integral values as ints, the rest as floats."""
    return [int(f) if f.is_integer() else f for f in np.asarray(column, dtype=np.float64).tolist()]


def _dedupe_keys(batch: Batch) -> list[bytes]:
    cols = [np.asarray(v, dtype=np.float64) for _, v in sorted(batch.sampled.items())]
    cols += [batch.widths.astype(np.float64), batch.group_ws.astype(np.float64)]
    rows = np.column_stack(cols)
    return [r.tobytes() for r in rows]


def sample(
    space: SpaceSpec,
    n: int,
    seed: int = 0,
    regime: Regime | None = None,
    *,
    im_size: int | None = None,
    num_classes: int | None = None,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    progress: Callable[[int, int], None] | None = None,
) -> SampleResult:
    """Draw n distinct models of `space` inside `regime`; raise SamplingError when that is out of reach."""
    import time

    if n < 0:
        raise InvalidField("n", f"must be >= 0 (got {n})")
    regime = regime or Regime()
    im_size = im_size or space.im_size
    num_classes = num_classes or space.num_classes
    rng = np.random.default_rng(seed)
    family = get_family(space.family)
    try:
        own = family.sample_records(space, n, seed, regime, im_size=im_size, num_classes=num_classes,
                                    max_candidates=max_candidates)
    except InvalidField as e:
        raise SamplingError.of(e.errors) from None
    if own is not None:
        return SampleResult(space, n, seed, regime, im_size, num_classes, _concat([], space.num_stages),
                            own.candidates, own.candidates, len(own.rows), 0, own.seconds, rows=own.rows)
    seen: set[bytes] = set()
    parts: list[Batch] = []
    res = SampleResult(space, n, seed, regime, im_size, num_classes, batch=None)  # type: ignore[arg-type]
    have = 0
    t0 = time.perf_counter()
    while have < n:
        if res.candidates >= max_candidates:
            raise SamplingError("n", _unreachable(res, n, have, max_candidates))
        batch = family.propose(space, rng, CHUNK)
        res.candidates += CHUNK
        res.structural += len(batch)
        batch.counts = complexity_batch(
            batch.depths, batch.widths, space.stage_strides(), batch.bot_muls, batch.group_ws,
            stem_type=space.stem_type, stem_w=space.stem_w, block_type=space.block_type,
            se_r=space.se_r, head_w=space.head_w, im_size=im_size, num_classes=num_classes,
        ) if len(batch) else Counts(*(np.zeros(0, np.int64),) * 3)
        batch = batch.take(np.flatnonzero(regime.mask(batch.counts)))
        exact = family.exact(batch)
        if exact is not None and not exact.all():  # float rounding at a stage boundary: the exact check wins
            res.notes.append(f"{int((~exact).sum())} candidates dropped by the exact re-check")
            batch = batch.take(np.flatnonzero(exact))
        res.in_regime += len(batch)
        fresh = []
        for i, key in enumerate(_dedupe_keys(batch)):
            if key in seen:
                res.duplicates += 1
                continue
            seen.add(key)
            fresh.append(i)
            if have + len(fresh) == n:
                break
        if fresh:
            parts.append(batch.take(np.asarray(fresh)))
            have += len(fresh)
        if progress:
            progress(have, res.candidates)
        if have == 0 and res.candidates >= EMPTY_AFTER:
            raise SamplingError(
                "regime", f"no model of {space.name} falls in {_regime_text(regime)} at {im_size}px "
                f"after {res.candidates:,} candidates; widen the range or pick another space")
        if 0 < have < n and res.candidates >= 4 * CHUNK:
            projected = res.candidates * n / have
            if projected > max_candidates:
                raise SamplingError("n", _unreachable(res, n, have, max_candidates, projected))
    res.batch = _concat(parts, space.num_stages)
    res.seconds = time.perf_counter() - t0
    return res


def _concat(parts: list[Batch], s: int) -> Batch:
    if not parts:
        z = np.zeros((0, s))
        return Batch({}, z.astype(np.int64), z.astype(np.int64), z, z.astype(np.int64),
                     Counts(*(np.zeros(0, np.int64),) * 3))
    keys = parts[0].sampled.keys()
    depths, widths, bot_muls, group_ws = (np.concatenate([getattr(p, a) for p in parts])
                                          for a in ("depths", "widths", "bot_muls", "group_ws"))
    return Batch(
        {k: np.concatenate([p.sampled[k] for p in parts]) for k in keys}, depths, widths, bot_muls, group_ws,
        Counts(*(np.concatenate([getattr(p.counts, m) for p in parts]) for m in METRICS)),
    )


def _regime_text(regime: Regime) -> str:
    if regime.is_empty():
        return "the unconstrained space"
    parts = []
    for m in METRICS:
        rng = getattr(regime, m)
        if rng is not None:
            parts.append(f"{m} [{_num(rng[0])}, {_num(rng[1])}]")
    return ", ".join(parts)


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    for unit, k in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(x) >= k:
            return f"{x / k:g}{unit}"
    return f"{x:g}"


def _unreachable(res: SampleResult, n: int, have: int, limit: int, projected: float | None = None) -> str:
    rate = res.in_regime / res.candidates if res.candidates else 0.0
    proj = f"; about {projected:,.0f} would be needed" if projected else ""
    return (f"{n} models of {res.space.name} in {_regime_text(res.regime)} are out of reach within "
            f"{limit:,} candidates (acceptance {rate:.2e}, {have} found{proj}); lower n or widen the regime")

"""Seeded, vectorised rejection sampling of a design space under a complexity regime.

Candidates are drawn in fixed-size chunks from one `numpy.random.Generator(seed)`, so (space, n, seed,
regime) gives the same configs on every machine, and a smaller n is a prefix of a larger one. Each chunk
is filtered cheapest-first: structural constraints (monotone stages; RegNet's stage count from closed
forms in d, w0, wa, wm), then the analytic complexity of the survivors only, then the regime. Rejection
keeps the conditional distribution exact: accepted models are distributed as the space's law restricted
to the regime. RegNet survivors are re-checked against the block-by-block generator so the result is
identical to `regnet.generate_regnet`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .complexity import Counts, complexity_batch
from .config import AnyNetConfig, RegNetParams
from .laws import draw
from .regnet import QUANT, adjust_widths_groups, block_stage_indices, quantize_stage_width, standardize_stages
from .spec import SpaceSpec

CHUNK = 1 << 16  # candidates per chunk; part of the reproducibility contract, never machine-dependent
DEFAULT_MAX_CANDIDATES = 200_000_000
EMPTY_AFTER = 4_000_000  # this many candidates with no acceptance: call the regime empty
METRICS = ("flops", "params", "acts")


class SamplingError(ValueError):
    """The regime cannot be met: empty, or n unreachable within the candidate budget."""


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
                    raise ValueError(f"regime.{name}: {side} must be a finite number >= 0 (got {v})")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"regime.{name}: low must be <= high (got {lo:g} > {hi:g})")

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
    def from_dict(cls, data: dict | None) -> Regime:
        data = data or {}
        unknown = set(data) - set(METRICS)
        if unknown:
            raise ValueError(f"regime: unknown keys {sorted(unknown)}; allowed {list(METRICS)}")
        out = {}
        for m in METRICS:
            v = data.get(m)
            if v is None:
                continue
            if not isinstance(v, list | tuple) or len(v) != 2:
                raise ValueError(f"regime.{m}: must be [low, high]")
            out[m] = tuple(None if x is None else float(x) for x in v)
        return cls(**out)


@dataclass
class Batch:
    """Valid architectures as arrays: the space's sampled coordinates plus the AnyNet stage lists."""

    sampled: dict[str, np.ndarray]
    depths: np.ndarray
    widths: np.ndarray
    bot_muls: np.ndarray
    group_ws: np.ndarray
    counts: Counts | None = None

    def take(self, idx: np.ndarray) -> Batch:
        c = self.counts
        return Batch(
            {k: v[idx] for k, v in self.sampled.items()},
            self.depths[idx], self.widths[idx], self.bot_muls[idx], self.group_ws[idx],
            None if c is None else Counts(c.flops[idx], c.params[idx], c.acts[idx]),
        )

    def __len__(self) -> int:
        return len(self.depths)


# --------------------------------------------------------------------------------------------------
# AnyNet: per-stage draws, shared and monotone constraints, compatibility adjustment

def _draw_stages(space: SpaceSpec, name: str, rng: np.random.Generator, size: int) -> np.ndarray:
    p = space.params[name]
    s = space.num_stages
    if p.shared:
        return np.repeat(draw(p, rng, size)[:, None], s, axis=1)
    return draw(p, rng, size * s).reshape(size, s)


def propose_anynet(space: SpaceSpec, rng: np.random.Generator, size: int) -> Batch:
    d, w, b, g = (_draw_stages(space, k, rng, size) for k in ("d", "w", "b", "g"))
    keep = np.ones(size, dtype=bool)
    for name, arr in (("d", d), ("w", w), ("b", b), ("g", g)):
        if space.params[name].monotone:
            keep &= np.all(np.diff(arr, axis=1) >= 0, axis=1)
    d, w, b, g = d[keep], w[keep], b[keep], g[keep]
    bm = 1.0 / b
    widths, group_ws = standardize_stages(w, bm, g)
    if space.params["w"].monotone:  # the adjustment must not undo the constraint
        ok = np.all(np.diff(widths, axis=1) >= 0, axis=1)
        d, w, b, g, bm, widths, group_ws = (x[ok] for x in (d, w, b, g, bm, widths, group_ws))
    sampled = {}
    for i in range(space.num_stages):
        sampled[f"d_{i + 1}"] = d[:, i]
        sampled[f"w_{i + 1}"] = w[:, i]
        sampled[f"b_{i + 1}"] = b[:, i]
        sampled[f"g_{i + 1}"] = g[:, i]
    return Batch(sampled, d.astype(np.int64), widths, bm, group_ws)


# --------------------------------------------------------------------------------------------------
# RegNet: closed-form stage boundaries, O(stages) per candidate

def _stage_index(j: np.ndarray, w0: np.ndarray, wa: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """round(s_j) for one block index per candidate, with the generator's own float operations."""
    return np.round(np.log((j * wa + w0) / w0) / np.log(wm))


def regnet_stage_boundaries(d, w0, wa, wm, num_stages: int) -> tuple[np.ndarray, np.ndarray]:
    """First block index of stages 1..num_stages (clipped to d), and a mask of rows that have exactly
    `num_stages` non-empty stages (total_stages == num_stages, no skipped index).

    Stage k starts at the first j with s_j >= k - 1/2, i.e. j_k = ceil(w0 (wm^(k-1/2) - 1) / wa). The
    closed form can be off by one where float rounding meets a boundary, so each j_k is checked (and
    moved) with the generator's exact expression at j_k - 1 and j_k.
    """
    n = len(d)
    ks = np.arange(1, num_stages + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        est = np.ceil(w0[:, None] * (np.power(wm[:, None], ks - 0.5) - 1.0) / wa[:, None])
    est = np.where(np.isfinite(est), est, np.inf)
    jk = np.clip(est, 0, d[:, None]).astype(np.int64)
    for c in range(num_stages):
        k = c + 1
        j = jk[:, c]
        inside = j < d
        at = np.where(inside, j, 0)
        too_early = inside & (_stage_index(at, w0, wa, wm) < k)
        j = j + too_early
        prev = np.maximum(j - 1, 0)
        too_late = (j >= 1) & (prev < d) & (_stage_index(prev, w0, wa, wm) >= k)
        jk[:, c] = np.minimum(j - too_late, d)
    firsts = np.concatenate([np.zeros((n, 1), dtype=np.int64), jk], axis=1)
    nonempty = np.all(np.diff(firsts[:, :num_stages], axis=1) > 0, axis=1) & (jk[:, num_stages - 2] < d) \
        if num_stages > 1 else np.ones(n, dtype=bool)
    valid = nonempty & (jk[:, num_stages - 1] >= d)
    return jk, valid


def propose_regnet(space: SpaceSpec, rng: np.random.Generator, size: int) -> Batch:
    S = space.num_stages
    d = draw(space.params["d"], rng, size).astype(np.int64)
    w0, wa, wm, g, b = (draw(space.params[k], rng, size) for k in ("w0", "wa", "wm", "g", "b"))
    # cheapest test first: the last block's stage index must round to S - 1 (1e-9 margin: exact test below)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_last = np.log(((d - 1) * wa + w0) / w0) / np.log(wm)
    keep = (s_last >= S - 1.5 - 1e-9) & (s_last <= S - 0.5 + 1e-9)
    d, w0, wa, wm, g, b = (x[keep] for x in (d, w0, wa, wm, g, b))
    jk, valid = regnet_stage_boundaries(d, w0, wa, wm, S)
    stage_k = np.arange(S, dtype=np.float64)
    qw = quantize_stage_width(w0[:, None], wm[:, None], stage_k[None, :], QUANT)
    valid &= np.all(np.diff(qw, axis=1) > 0, axis=1)  # distinct quantized widths: num_stages == S
    d, w0, wa, wm, g, b, jk, qw = (x[valid] for x in (d, w0, wa, wm, g, b, jk, qw))
    firsts = np.concatenate([np.zeros((len(d), 1), dtype=np.int64), jk], axis=1)
    depths = np.diff(firsts, axis=1)
    bm = np.repeat((1.0 / b)[:, None], S, axis=1)
    widths, group_ws = adjust_widths_groups(qw, bm, np.repeat(g[:, None], S, axis=1))
    sampled = {"d": d, "w0": w0, "wa": wa, "wm": wm, "g": g, "b": b}
    return Batch(sampled, depths, widths, bm, group_ws)


def verify_regnet_exact(batch: Batch) -> np.ndarray:
    """Rows whose stages equal the block-by-block generator's (every row, unless float rounding bit)."""
    if len(batch) == 0:
        return np.ones(0, dtype=bool)
    s = batch.sampled
    d = s["d"].astype(np.int64)
    dmax = int(d.max())
    j = np.arange(dmax)
    u, ks = block_stage_indices(dmax, s["w0"][:, None], s["wa"][:, None], s["wm"][:, None])
    del u
    inside = j[None, :] < d[:, None]
    ws_all = quantize_stage_width(s["w0"][:, None], s["wm"][:, None], ks, QUANT)
    S = batch.depths.shape[1]
    firsts = np.cumsum(batch.depths, axis=1) - batch.depths
    stage_of_j = (j[None, None, :] >= firsts[:, :, None]).sum(axis=1) - 1
    qw = quantize_stage_width(s["w0"][:, None], s["wm"][:, None], np.arange(S, dtype=np.float64)[None, :])
    expected = np.take_along_axis(qw, np.clip(stage_of_j, 0, S - 1), axis=1)
    same = np.all((ws_all == expected) | ~inside, axis=1)
    top = np.where(inside, ks, -1).max(axis=1)
    return same & (top == S - 1) & (batch.depths.sum(axis=1) == d)


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

    @property
    def acceptance_rate(self) -> float:
        return self.in_regime / self.candidates if self.candidates else 0.0

    def __len__(self) -> int:
        return len(self.batch)

    def config(self, i: int) -> AnyNetConfig:
        b, sp = self.batch, self.space
        regnet = None
        if sp.family == "regnet":
            s = b.sampled
            regnet = RegNetParams(depth=int(s["d"][i]), w0=int(s["w0"][i]), wa=float(s["wa"][i]),
                                  wm=float(s["wm"][i]), group_w=int(s["g"][i]), bot_mul=1.0 / float(s["b"][i]))
        return AnyNetConfig(
            stem_type=sp.stem_type, stem_w=sp.stem_w, block_type=sp.block_type, se_r=sp.se_r,
            head_w=sp.head_w, depths=[int(x) for x in b.depths[i]], widths=[int(x) for x in b.widths[i]],
            strides=[sp.stride] * b.depths.shape[1], bot_muls=[float(x) for x in b.bot_muls[i]],
            group_ws=[int(x) for x in b.group_ws[i]], regnet=regnet,
        )

    def records(self) -> list[dict]:
        """One dict per model: index, canonical config, complexity and the sampled coordinates."""
        c = self.batch.counts
        out = []
        for i in range(len(self)):
            out.append({
                "index": i,
                "config": self.config(i).model_dump(mode="json", exclude_none=True),
                "flops": int(c.flops[i]), "params": int(c.params[i]), "acts": int(c.acts[i]),
                "sampled": {k: _plain(v[i]) for k, v in self.batch.sampled.items()},
            })
        return out


def _plain(x: np.generic) -> int | float:
    f = float(x)
    return int(f) if f == int(f) else f


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
        raise ValueError(f"n: must be >= 0 (got {n})")
    regime = regime or Regime()
    im_size = im_size or space.im_size
    num_classes = num_classes or space.num_classes
    rng = np.random.default_rng(seed)
    propose = propose_regnet if space.family == "regnet" else propose_anynet
    seen: set[bytes] = set()
    parts: list[Batch] = []
    res = SampleResult(space, n, seed, regime, im_size, num_classes, batch=None)  # type: ignore[arg-type]
    have = 0
    t0 = time.perf_counter()
    while have < n:
        if res.candidates >= max_candidates:
            raise SamplingError(_unreachable(res, n, have, max_candidates))
        batch = propose(space, rng, CHUNK)
        res.candidates += CHUNK
        res.structural += len(batch)
        batch.counts = complexity_batch(
            batch.depths, batch.widths, space.stride, batch.bot_muls, batch.group_ws,
            stem_type=space.stem_type, stem_w=space.stem_w, block_type=space.block_type,
            se_r=space.se_r, head_w=space.head_w, im_size=im_size, num_classes=num_classes,
        ) if len(batch) else Counts(*(np.zeros(0, np.int64),) * 3)
        batch = batch.take(np.flatnonzero(regime.mask(batch.counts)))
        if space.family == "regnet" and len(batch):
            exact = verify_regnet_exact(batch)
            if not exact.all():  # float rounding at a stage boundary: the generator has the last word
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
                f"regime: no model of {space.name} falls in {_regime_text(regime)} at {im_size}px "
                f"after {res.candidates:,} candidates; widen the range or pick another space")
        if 0 < have < n and res.candidates >= 4 * CHUNK:
            projected = res.candidates * n / have
            if projected > max_candidates:
                raise SamplingError(_unreachable(res, n, have, max_candidates, projected))
    res.batch = _concat(parts, space.num_stages)
    res.seconds = time.perf_counter() - t0
    return res


def _concat(parts: list[Batch], s: int) -> Batch:
    if not parts:
        z = np.zeros((0, s))
        return Batch({}, z.astype(np.int64), z.astype(np.int64), z, z.astype(np.int64),
                     Counts(*(np.zeros(0, np.int64),) * 3))
    keys = parts[0].sampled.keys()
    return Batch(
        {k: np.concatenate([p.sampled[k] for p in parts]) for k in keys},
        *(np.concatenate([getattr(p, a) for p in parts]) for a in ("depths", "widths", "bot_muls", "group_ws")),
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
    return (f"n: {n} models of {res.space.name} in {_regime_text(res.regime)} are out of reach within "
            f"{limit:,} candidates (acceptance {rate:.2e}, {have} found{proj}); lower n or widen the regime")

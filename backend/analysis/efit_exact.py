"""The exact minimum of e_fit's objective over a declared domain, by branch and bound with a proven lower bound.

The objective (widths.py) is mean_j |log A_j(Q(w0 wm^k_j)) - log w_j| with k_j = round(log(1 + j t) / log(wm)),
t = wa / w0, Q the rounding to multiples of 8 and A_j the block's width/group adjustment (identity with
snap=False). The domain searched is DOMAIN: w0 in {8, 16, ..., 8 ceil(2 w_max / 8)}, wa in [0, 4 w_max] and wm in
[WM_LO, WM_HI] (w_max: the model's widest block).

For one w0 and an interval [m1, m2] of wm, a lower bound of the objective over every (t, wm) of the box:
- Q and A_j are non-decreasing (tests check A_j exhaustively), and w0 wm^m grows with wm and with m, so the width
  a block gets at level m lies in [lo_jm, hi_jm] = [A_j(Q(w0 m1^m)), A_j(Q(w0 m2^m))], and its cost is at least
  c_jm = the log-distance from w_j to that range. c_jm is unimodal in m (falling while hi_jm < w_j, then
  rising): call its first minimiser m*_j.
- s_j = log(1 + j t) / log(wm) rises with t and falls with wm: at a given t, block j's level lies between
  kmin_j(t) (reached at wm = m2) and kmax_j(t) (at m1). Block j enters level >= m at t = (wm^(m - 1/2) - 1) / j.
- The least cost over a level range [kmin, kmax] of a unimodal c is c at clamp(m*, kmin, kmax). As t grows, that
  changes by c_jm - c_j(m-1) when kmax passes m <= m*_j (at t = (m1^(m-1/2) - 1)/j) and when kmin passes
  m > m*_j (at t = (m2^(m-1/2) - 1)/j); no other event moves it. So the bound, as a function of t, is the
  level-0 cost plus a running sum over those events sorted by t, and its minimum over t in [0, wa_max / w0] is a
  lower bound for the whole box (events past wa_max / w0 never happen).

Branch and bound: a box whose bound is not below the best value found is dropped. Otherwise the objective is
evaluated at the box's middle wm and a t where the bound is least; if it equals the bound, that is the box's
minimum (bound <= minimum <= value), and it is kept as a candidate. Otherwise the box is split: at the width
breakpoint of the lowest level whose rounded width is not constant over it (there the bound mixes two widths
for different blocks), else in the middle of log wm. A box around a single crossing of two level boundaries is
closed by the rule above (its bound is the least of the combinations on either side, each of which exists).
Boxes still open after MAX_SPLITS splits are counted in `unresolved` (none in the tests' populations); the
search is exact whenever it is 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backend.designspace.regnet import QUANT

from .block_kinds import BlockKinds

WM_LO = 1.5
WM_HI = 16.0
MAX_SPLITS = 48
TOL = 1e-12
EDGE = 1e-12  # relative margin kept around a width breakpoint (float resolution of the objective itself)
CHUNK_ELEMS = 1 << 21  # boxes x blocks x levels per numpy pass
ScoreFn = Callable[[np.ndarray], np.ndarray]  # the objective at (w0, wa, wm) rows


@dataclass(frozen=True)
class ExactMin:
    value: float  # the least objective value found (inf: nothing beats `incumbent`)
    point: tuple[float, float, float] | None  # (w0, wa, wm) attaining it
    boxes: int  # boxes bounded
    unresolved: int  # boxes given up after MAX_SPLITS splits (0: the minimum over DOMAIN is proven)
    open_boxes: list[tuple[float, ...]]  # the first few of them: (w0, m1, m2, bound, value at the middle, level)


def domain(widths: np.ndarray) -> tuple[np.ndarray, float]:
    """The w0 values and the largest wa of the searched domain for a model with these per-block widths."""
    wmax = float(widths.max())
    w0s = QUANT * np.arange(1, int(np.ceil(2 * wmax / QUANT)) + 1, dtype=np.float64)
    return w0s, 4 * wmax


def _steps(x: np.ndarray) -> np.ndarray:
    """Q in steps of 8, clipped far above any width (monotone, so the bound stays a bound; no int64 overflow)."""
    steps: np.ndarray = np.round(np.minimum(x, 2.0**40) / QUANT).astype(np.int64)
    return steps


def _bounds(kinds: BlockKinds, w0: np.ndarray, m1: np.ndarray, m2: np.ndarray, levels: int, wa_max: float,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per box (w0, [m1, m2]): the lower bound, the t where it is least, and the lowest level whose rounded
    width is not constant over the box (-1: none)."""
    # blocks of one stage share their width, b and g: costs are computed per kind (block_kinds.py), then spread
    d = len(kinds.of_block)
    of_block = kinds.of_block
    m = np.arange(levels + 1, dtype=np.float64)
    n_lo = _steps(w0[:, None] * m1[:, None] ** m)  # (R, L+1)
    n_hi = _steps(w0[:, None] * m2[:, None] ** m)
    kind = np.arange(len(kinds.obs))[None, :, None]
    # by the formula, not the table: most levels here lie far above the table's widths
    lo = kinds.direct(n_lo[:, None, :] * QUANT, kind).astype(np.float64)  # (R, K, L+1)
    hi = kinds.direct(n_hi[:, None, :] * QUANT, kind).astype(np.float64)
    obs = kinds.obs[None, :, None]
    with np.errstate(divide="ignore"):
        cost_k = np.maximum(np.maximum(np.log(lo / obs), np.log(obs / hi)), 0.0)  # (R, K, L+1)
    below = hi < obs
    star_k = np.where(below.all(axis=2), levels, np.argmin(below, axis=2))  # first level with hi >= obs
    cost = cost_k[:, of_block, :]  # (R, d, L+1)
    m_star = star_k[:, of_block]
    delta = np.diff(cost, axis=2)  # (R, d, L): entering level m = 1..L
    j = np.arange(d, dtype=np.float64)[None, :, None]
    mm = m[None, None, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_up = (m1[:, None, None] ** (mm - 0.5) - 1) / j  # kmax passes m
        t_dn = (m2[:, None, None] ** (mm - 0.5) - 1) / j  # kmin passes m
    rising = mm > m_star[:, :, None]
    t_ev = np.where(rising, t_dn, t_up)
    t_max = wa_max / w0
    t_ev = np.where((j > 0) & (t_ev <= t_max[:, None, None]), t_ev, np.inf)
    R = len(w0)
    t_ev = t_ev.reshape(R, -1)
    delta = np.where(np.isfinite(t_ev), delta.reshape(R, -1), 0.0)
    order = np.argsort(t_ev, axis=1, kind="stable")
    t_sorted = np.take_along_axis(t_ev, order, axis=1)
    run = np.cumsum(np.take_along_axis(delta, order, axis=1), axis=1)
    base = cost[:, :, 0].sum(axis=1)
    run = np.concatenate([np.zeros((R, 1)), run], axis=1)
    best = np.argmin(run, axis=1)
    t_from = np.concatenate([np.zeros((R, 1)), t_sorted], axis=1)
    t_to = np.concatenate([t_sorted, np.full((R, 1), np.inf)], axis=1)
    a = t_from[np.arange(R), best]
    b = np.minimum(t_to[np.arange(R), best], t_max)
    t_at = np.where(np.isfinite(b), np.where(a > 0, np.sqrt(a * b), b / 2), a + 1)
    t_at = np.where(a == 0, b / 2, t_at)
    # the levels the bound's least configuration uses (up to the highest any block may reach at t_at)
    with np.errstate(divide="ignore", invalid="ignore"):
        top = np.round(np.log1p((d - 1) * t_at) / np.log(m1))
    ambiguous = (n_lo != n_hi) & (m[None, :] <= top[:, None])
    first_amb = np.where(ambiguous.any(axis=1), np.argmax(ambiguous, axis=1), -1)
    return (base + run[np.arange(R), best]) / d, t_at, first_amb


def exact_minimum(kinds: BlockKinds, incumbent: float, score: ScoreFn) -> ExactMin:
    """The least objective value over DOMAIN if it is below `incumbent` (else value inf); `kinds`: the model's
    blocks, with the adjustment A_j or without (the plain law)."""
    d = len(kinds.of_block)
    w0s, wa_max = domain(kinds.obs)
    w0 = w0s.copy()
    m1 = np.full(len(w0s), WM_LO)
    m2 = np.full(len(w0s), WM_HI)
    depth = np.zeros(len(w0s), dtype=np.int64)
    best, point, boxes, unresolved = incumbent, None, 0, 0
    open_boxes: list[tuple[float, ...]] = []
    most = int(np.ceil(np.log1p((d - 1) * wa_max / QUANT) / np.log(WM_LO) + 0.5)) + 1
    step = max(1, CHUNK_ELEMS // (d * (most + 1)))
    while len(w0):
        nxt: list[tuple[np.ndarray, ...]] = []
        for s in range(0, len(w0), step):
            sl = slice(s, s + step)
            a0, a1, a2, dep = w0[sl], m1[sl], m2[sl], depth[sl]
            # the highest level any block reaches in these boxes (t <= wa_max / w0, wm >= m1), plus one
            levels = int(np.ceil(np.max(np.log1p((d - 1) * wa_max / a0) / np.log(a1)) + 0.5)) + 1
            lb, t_at, amb = _bounds(kinds, a0, a1, a2, levels, wa_max)
            boxes += len(a0)
            live = lb < best - TOL
            if not live.any():
                continue
            a0, a1, a2, dep, lb, t_at, amb = (x[live] for x in (a0, a1, a2, dep, lb, t_at, amb))
            mid = np.sqrt(a1 * a2)
            cand = np.stack([a0, a0 * t_at, mid], axis=1)
            val = score(cand)
            closed = np.abs(val - lb) <= TOL
            if closed.any():
                k = int(np.argmin(np.where(closed, val, np.inf)))
                if val[k] < best:
                    best, point = float(val[k]), (float(cand[k, 0]), float(cand[k, 1]), float(cand[k, 2]))
            k = int(np.argmin(val))
            if val[k] < best:  # any evaluated point is a real objective value
                best, point = float(val[k]), (float(cand[k, 0]), float(cand[k, 1]), float(cand[k, 2]))
            split = ~closed & (lb < best - TOL)
            given_up = split & (dep >= MAX_SPLITS)
            unresolved += int(given_up.sum())
            if given_up.any() and len(open_boxes) < 5:
                rows = (a0, a1, a2, lb, val, amb.astype(np.float64))
                open_boxes.extend(map(tuple, np.stack([x[given_up] for x in rows], axis=1).tolist()))
            split &= ~given_up
            if not split.any():
                continue
            a0, a1, a2, dep, amb = (x[split] for x in (a0, a1, a2, dep, amb))
            # the middle width breakpoint of the lowest ambiguous level: Q(w0 wm^m) steps where w0 wm^m / 8 = n + 1/2
            lev = np.maximum(amb, 1).astype(np.float64)
            n_lo = np.floor(a0 * a1 ** lev / QUANT + 0.5)  # the half-way points inside: n + 1/2, n_lo <= n < n_hi
            n_hi = np.floor(a0 * a2 ** lev / QUANT + 0.5)
            n = np.floor((n_lo + n_hi - 1) / 2)  # the middle one: splits in log(#breakpoints) steps
            cut_w = (((n + 0.5) * QUANT) / a0) ** (1.0 / lev)
            at_w = (amb > 0) & (cut_w > a1 * (1 + EDGE)) & (cut_w < a2 * (1 - EDGE))
            cut = np.where(at_w, cut_w, np.sqrt(a1 * a2))
            gap = np.where(at_w, EDGE, 0.0)  # Q's half-way point itself (a single wm) is left out
            nxt.append((np.r_[a0, a0], np.r_[a1, cut * (1 + gap)], np.r_[cut * (1 - gap), a2], np.r_[dep, dep] + 1))
        if not nxt:
            break
        w0, m1, m2, depth = (np.concatenate([p[i] for p in nxt]) for i in range(4))
    return ExactMin(best if point is not None else float("inf"), point, boxes, unresolved, open_boxes[:5])



"""Analysis speed: statistics and figures over 100,000 models, the EDF over 1,000,000.

Targets (issue 5), server-side on this machine:
- 100,000 models: EDF + normalised EDF + bootstrap ranges for 10 parameters + all scatter figures < 1 s;
- 1,000,000 models: EDF < 1 s.

"Server-side" is everything the API does for those figures: statistics, Plotly figure objects and their JSON.
The populations are synthetic (backend.analysis.synthetic; building them is not timed). Each timing is the
median of REPEATS runs after one warm-up. Plain-Python references, measured in the same run, do the same
work one element at a time (sorted() + a loop for the EDF, loops for the NDS weights, random.choices + min for
the literal bootstrap); the literal bootstrap is timed on PY_BOOT_REPEATS repeats and scaled linearly to 10^4
(its cost is exactly linear in the repeats), which the table says.

    python -m bench.analysis_bench
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from backend.analysis.bootstrap import REPEATS as BOOT_REPEATS
from backend.analysis.bootstrap import best_ranges
from backend.analysis.edf import edf_curve
from backend.analysis.normalized import normalized_edfs
from backend.analysis.synthetic import synthetic_population
from backend.analysis.widths import e_fit_column
from backend.designspace.builtin import get_space
from backend.designspace.sampling import Regime, sample
from backend.figures import edf_figure, edf_normalized_figure, error_scatter_figures, to_json

N = 100_000
N_BIG = 1_000_000
TARGET_S = 1.0
REPEATS = 3
PY_BOOT_REPEATS = 20
PARAMS = ("d", "w0", "wa", "wm", "g", "b", "flops", "params", "acts", "infer_ms")
BINS = 10
N_FIT = 100  # models per space for the per-model width-law fit timing


def timed(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def once(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# -- plain-Python references ------------------------------------------------------------------------

def py_edf(errors: list[float]) -> tuple[list[float], list[float], dict]:
    xs = sorted(errors)
    n = len(xs)
    knots, levels = [], []
    for i, x in enumerate(xs):
        if i + 1 == n or xs[i + 1] != x:
            knots.append(x)
            levels.append((i + 1) / n)
    mid = n // 2
    median = xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2
    return knots, levels, {"n": n, "min": xs[0], "mean": sum(xs) / n, "median": median}


def py_normalized_weights(c: list[float], bins: int) -> list[float]:
    lo, hi = min(c), max(c)
    idx = [min(int((v - lo) / (hi - lo) * bins), bins - 1) for v in c]
    counts = [0] * bins
    for k in idx:
        counts[k] += 1
    return [1.0 / (bins * counts[k]) for k in idx]


def py_bootstrap(errors: list[float], cols: list[list[float]], repeats: int) -> list[list[float]]:
    n = len(errors)
    m = n // 4
    rnd = random.Random(0)
    winners = []
    for _ in range(repeats):
        sample = rnd.choices(range(n), k=m)
        winners.append(min(sample, key=errors.__getitem__))
    out = []
    for col in cols:
        v = sorted(col[w] for w in winners)
        out.append([v[int(q * (len(v) - 1))] for q in (0.025, 0.5, 0.975)])
    return out


# -- the timed server-side work ---------------------------------------------------------------------

def stats_work(pop: dict) -> None:
    edf_curve(pop["error"])
    normalized_edfs({"A": pop["error"]}, {"A": pop["flops"]}, bins=BINS)
    best_ranges(pop["error"], {p: pop[p] for p in PARAMS})


def figures_work(pop: dict) -> int:
    """The EDF, normalised EDF and every scatter figure, as JSON: everything the statistics feed included."""
    pops = {"synthetic": pop}
    figs = [edf_figure(pops), edf_normalized_figure(pops, bins=BINS), *error_scatter_figures(pops, PARAMS).values()]
    return sum(len(to_json(f)) for f in figs)


def main(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    n = int(argv[0]) if argv else N
    pop = synthetic_population(n, seed=0)
    err = pop["error"].tolist()
    rows: list[tuple[str, float, str]] = []

    t_edf = timed(lambda: edf_curve(pop["error"]))
    t_norm = timed(lambda: normalized_edfs({"A": pop["error"]}, {"A": pop["flops"]}, bins=BINS))
    t_boot = timed(lambda: best_ranges(pop["error"], {p: pop[p] for p in PARAMS}))
    t_stats = timed(lambda: stats_work(pop))
    t_figs = timed(lambda: figures_work(pop))
    json_mb = figures_work(pop) / 1e6

    py_edf_s = once(lambda: py_edf(err))
    flops = pop["flops"].tolist()
    py_norm_s = once(lambda: (py_normalized_weights(flops, BINS), py_edf(err)))
    cols = [pop[p].tolist() for p in PARAMS]
    py_boot_s = once(lambda: py_bootstrap(err, cols, PY_BOOT_REPEATS)) * BOOT_REPEATS / PY_BOOT_REPEATS

    big = synthetic_population(N_BIG, seed=1)["error"]
    t_big = timed(lambda: edf_curve(big))
    big_list = big.tolist()
    py_big_s = once(lambda: py_edf(big_list))

    fit_ms = {}
    for space in ("RegNetX", "AnyNetX_A"):
        cfgs = [r["config"] for r in sample(get_space(space), N_FIT, 0, Regime(flops=(360e6, 400e6))).records()]
        fit_ms[space] = once(lambda cfgs=cfgs: e_fit_column(cfgs)) / N_FIT * 1e3

    print(f"{'work':<62} {'numpy s':>9} {'Python s':>10} {'speed-up':>9} {'target s':>9}")
    table = [
        (f"EDF, {n:,} models", t_edf, py_edf_s, None),
        (f"normalised EDF ({BINS} bins), {n:,} models", t_norm, py_norm_s, None),
        (f"bootstrap best ranges, {len(PARAMS)} params, 10^4 repeats, {n:,} models", t_boot, py_boot_s, None),
        ("  (Python: literal resampling, timed on "
         f"{PY_BOOT_REPEATS} repeats, scaled to 10^4)", float("nan"), float("nan"), None),
        (f"statistics: EDF + normalised EDF + bootstrap, {n:,} models", t_stats, py_edf_s + py_norm_s + py_boot_s,
         TARGET_S),
        (f"figures as JSON: EDF + normalised + {len(PARAMS)} scatter ({json_mb:.1f} MB), {n:,}", t_figs,
         float("nan"), TARGET_S),
        (f"EDF, {N_BIG:,} models", t_big, py_big_s, TARGET_S),
    ]
    for name, t, py, target in table:
        if not np.isfinite(t):
            print(name)
            continue
        speed = f"{py / t:>8.0f}x" if np.isfinite(py) else f"{'-':>9}"
        tgt = f"{target:>9.1f}" if target else f"{'':>9}"
        ok = "" if target is None else ("  ok" if t < target else "  OVER TARGET")
        print(f"{name:<62} {t:>9.3f} {py if np.isfinite(py) else float('nan'):>10.2f} {speed} {tgt}{ok}", flush=True)
    for space, ms in fit_ms.items():
        print(f"width-law fit (e_fit), {space}: {ms:.1f} ms per model (once per model; not part of the target)")
    rows += [
        (f"EDF of {n:,} models", t_edf, "s"),
        (f"normalised EDF of {n:,} models", t_norm, "s"),
        (f"bootstrap best ranges, {len(PARAMS)} params x 10^4 repeats, {n:,} models", t_boot, "s"),
        (f"EDF + normalised EDF + bootstrap ({n:,} models, target < 1 s)", t_stats, "s"),
        (f"EDF + normalised + {len(PARAMS)} scatter figures as JSON ({n:,} models, target < 1 s)", t_figs, "s"),
        (f"EDF of {N_BIG:,} models (target < 1 s)", t_big, "s"),
        (f"EDF {n:,}: speed-up vs plain Python", py_edf_s / t_edf, "x"),
        (f"bootstrap {n:,}: speed-up vs literal Python loop (scaled from {PY_BOOT_REPEATS} repeats)",
         py_boot_s / t_boot, "x"),
        (f"EDF {N_BIG:,}: speed-up vs plain Python", py_big_s / t_big, "x"),
        *((f"width-law fit (e_fit) per {space} model", ms, "ms") for space, ms in fit_ms.items()),
    ]
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])

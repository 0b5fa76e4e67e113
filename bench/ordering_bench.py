"""Does the paper's ordering show up at small scale? RegNetX vs AnyNetX_A with the calibrated CPU proxy.

Trains N sampled models of each space (default 100; the demo's regime: <= 5 MF at 32 px on digits, study seed
0, so the first 24 are the demo's own models) with the "cpu-proxy" recipe (backend.study_spec.RECIPE_PRESETS),
the two spaces interleaved over `--workers` processes of one torch thread each. Every finished model is appended
to a JSON-lines log as it arrives, with the recipe it was trained with, so a long run that is stopped loses
nothing: a run trains only what the log lacks (and refuses a log written with another recipe); `--fresh` starts
over. The default log is the committed one, docs/figures/ordering_runs.jsonl, so `make bench` re-reads it.

Reports the EDFs' medians, the two-sample KS statistic and p-value (backend.analysis.compare.ks_test), the
learning failures of each space, and whether RegNetX's EDF lies left of AnyNetX_A's as in the paper's Fig. 9:
D+ = max_e (F_RegNetX(e) - F_AnyNetX_A(e)) and D- = max_e (F_AnyNetX_A(e) - F_RegNetX(e)); "left of" means
D+ > 0 and D- small (no more than the DKW band half-width of the smaller sample at 95 %). Writes the EDF figure
as a small self-contained SVG (no plotting dependency) to `--figure`.

Run: `python -m bench.ordering_bench [--n 100] [--workers 2] [--log PATH] [--fresh] [--figure PATH]`.
200 trainings at tens of seconds each take 30-60 minutes on two shared cores; `--n 10` is a quick look.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from backend.analysis.compare import ks_test
from backend.analysis.edf import dkw_eps, edf_eval
from backend.analysis.failures import at_chance

ROOT = Path(__file__).resolve().parents[1]
SPACES = ("RegNetX", "AnyNetX_A")
FLOPS_MAX = 5e6
IM_SIZE = 32
SEED = 0
PRESET = "cpu-proxy"
DEMO_N = 24  # the demo's models are the first 24 of each space
COLORS = {"RegNetX": "#1f77b4", "AnyNetX_A": "#d62728"}

_DATA: Any = None
_CONFIGS: dict[str, list[dict[str, Any]]] = {}


def sample_configs(n: int) -> dict[str, list[dict[str, Any]]]:
    """The first n models of each space in the demo's regime (prefix-stable: the demo's 24 come first)."""
    from backend.designspace.builtin import get_space
    from backend.designspace.sampling import Regime, sample

    out = {}
    for space in SPACES:
        res = sample(get_space(space), n, SEED, Regime(flops=(None, FLOPS_MAX)), im_size=IM_SIZE, num_classes=10)
        out[space] = [res.config(i).model_dump(mode="json", exclude_none=True) for i in range(n)]
    return out


def _init(configs: dict[str, list[dict[str, Any]]]) -> None:
    import torch

    from backend.study_spec import DatasetSpec
    from workers.data import load_dataset

    global _DATA, _CONFIGS
    torch.set_num_threads(1)
    _DATA = load_dataset(DatasetSpec(), IM_SIZE, torch.device("cpu"))
    _CONFIGS = configs


def _train(task: tuple[str, int]) -> dict[str, Any]:
    from backend.study_spec import job_seed, recipe_preset
    from workers.train import train_model

    space, i = task
    t0, c0 = time.perf_counter(), time.process_time()
    recipe = recipe_preset(PRESET)
    r = train_model(_CONFIGS[space][i], _DATA, recipe, seed=job_seed(SEED, i), device="cpu")
    return {"space": space, "index": i, "recipe": recipe.model_dump(), "error": r.error,
            "error_final": r.error_final, "diverged": r.diverged, "did_not_learn": r.did_not_learn,
            "initial_loss": r.initial_loss, "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0}


def read_log(log: Path) -> list[dict[str, Any]]:
    """The log's rows, one per (space, index): the first written wins if two processes trained the same model."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return list({(r["space"], r["index"]): r for r in reversed(rows)}.values())


def train_all(n: int, workers: int, log: Path, resume: bool, first: int = 0) -> list[dict[str, Any]]:
    """Train what `log` lacks (all of it without resume) from index `first` up, interleaving the spaces; returns
    every row (one per model: a second process that filled part of the same log cannot count a model twice)."""
    from backend.study_spec import recipe_preset

    rows: list[dict[str, Any]] = []
    if resume and log.exists():
        rows = read_log(log)
        recipe = recipe_preset(PRESET).model_dump()
        stale = [r for r in rows if r.get("recipe") != recipe]
        if stale:  # a log of an older preset must not mix into this one's population
            raise SystemExit(f"{log}: {len(stale)} rows were trained with another recipe than the current "
                             f"{PRESET!r} preset; use another --log (or --fresh to start over)")
    elif log.exists():
        log.unlink()
    have = {(r["space"], r["index"]) for r in rows}
    tasks = [(s, i) for i in range(first, n) for s in SPACES if (s, i) not in have]
    if tasks:
        log.parent.mkdir(parents=True, exist_ok=True)
        with mp.get_context("spawn").Pool(workers, _init, (sample_configs(n),)) as pool, log.open("a") as f:
            for k, row in enumerate(pool.imap_unordered(_train, tasks), 1):
                f.write(json.dumps(row) + "\n")
                f.flush()
                rows.append(row)
                print(f"[{k}/{len(tasks)}] {row['space']} #{row['index']}: {row['error_final']:.1f} % "
                      f"in {row['seconds']:.0f} s", flush=True)
    return [r for r in rows if r["index"] < n]


def edf_svg(errors: dict[str, np.ndarray], title: str, path: Path) -> None:
    """Step EDFs of the final errors on a log error axis, as a dependency-free SVG."""
    w, h, ml, mr, mt, mb = 640, 420, 60, 20, 40, 50
    lo = max(0.5, min(float(e.min()) for e in errors.values()) * 0.9)
    hi = 100.0
    def x(v: float) -> float:
        return ml + (np.log10(max(v, lo)) - np.log10(lo)) / (np.log10(hi) - np.log10(lo)) * (w - ml - mr)

    def y(f: float) -> float:
        return mt + (1 - f) * (h - mt - mb)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
             f'font-size="12"><rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
             f'<line x1="{ml}" y1="{y(0)}" x2="{w - mr}" y2="{y(0)}" stroke="#888"/>',
             f'<line x1="{ml}" y1="{y(0)}" x2="{ml}" y2="{y(1)}" stroke="#888"/>']
    for f in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<text x="{ml - 6}" y="{y(f) + 4}" text-anchor="end">{f:g}</text>')
        parts.append(f'<line x1="{ml}" y1="{y(f)}" x2="{w - mr}" y2="{y(f)}" stroke="#eee"/>')
    for t in (1, 2, 5, 10, 20, 50, 100):
        if t >= lo:
            parts.append(f'<text x="{x(t)}" y="{h - mb + 16}" text-anchor="middle">{t}</text>')
            parts.append(f'<line x1="{x(t)}" y1="{y(0)}" x2="{x(t)}" y2="{y(1)}" stroke="#eee"/>')
    parts.append(f'<text x="{(ml + w - mr) / 2}" y="{h - 12}" text-anchor="middle">final test error (%), log '
                 f'scale; dashed: chance (90 %)</text>')
    parts.append(f'<line x1="{x(90)}" y1="{y(0)}" x2="{x(90)}" y2="{y(1)}" stroke="#999" stroke-dasharray="4 3"/>')
    for k, (name, e) in enumerate(errors.items()):
        xs = np.sort(e)
        pts = [(x(lo), y(0))]
        for i, v in enumerate(xs):
            pts += [(x(v), y(i / len(xs))), (x(v), y((i + 1) / len(xs)))]
        pts.append((x(hi), y(1)))
        d = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        parts.append(f'<polyline points="{d}" fill="none" stroke="{COLORS.get(name, "#333")}" stroke-width="2"/>')
        ly = mt + 12 + 18 * k
        parts.append(f'<line x1="{ml + 12}" y1="{ly}" x2="{ml + 36}" y2="{ly}" stroke="{COLORS.get(name, "#333")}" '
                     f'stroke-width="2"/><text x="{ml + 42}" y="{ly + 4}">{name} n={len(e)}, median '
                     f'{np.median(e):.1f} %</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    errs = {s: np.array([r["error_final"] for r in rows if r["space"] == s], dtype=float) for s in SPACES}
    grid = np.unique(np.concatenate(list(errs.values())))
    f_r, f_a = edf_eval(errs["RegNetX"], grid), edf_eval(errs["AnyNetX_A"], grid)
    d_plus, d_minus = float(np.max(f_r - f_a)), float(np.max(f_a - f_r))
    ks, p = ks_test(errs["RegNetX"], errs["AnyNetX_A"])
    band = dkw_eps(min(len(e) for e in errs.values()))
    fails = {s: {"diverged": sum(bool(r["diverged"]) for r in rows if r["space"] == s),
                 "did_not_learn": sum(bool(r["did_not_learn"]) for r in rows if r["space"] == s),
                 "at_chance": sum(bool(at_chance(r["error_final"], 10)) for r in rows if r["space"] == s)}
             for s in SPACES}
    return {"errors": errs, "n": {s: len(e) for s, e in errs.items()},
            "median": {s: float(np.median(e)) for s, e in errs.items()},
            "mean": {s: float(np.mean(e)) for s, e in errs.items()},
            "ks": ks, "p": p, "d_plus": d_plus, "d_minus": d_minus, "dkw": band,
            "left": d_plus > 0 and d_minus <= band, "strictly_left": d_plus > 0 and d_minus == 0.0,
            "failures": fails,
            "seconds": float(np.median([r["seconds"] for r in rows])),
            "cpu_seconds": float(np.median([r.get("cpu_seconds", np.nan) for r in rows]))}


def main(argv: list[str] | None = None) -> list[tuple[str, float, str]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100, help="models per space")
    p.add_argument("--workers", type=int, default=2)
    # The committed log is the measurement: `make bench` re-summarises it and trains only what it lacks (none at
    # the default --n), instead of an hour of training; --fresh trains every model again.
    p.add_argument("--log", type=Path, default=ROOT / "docs" / "figures" / "ordering_runs.jsonl")
    p.add_argument("--fresh", dest="resume", action="store_false",
                   help="delete the log and train every model again (default: train only what the log lacks)")
    p.add_argument("--first", type=int, default=0, help="start at this model index (a second process on the same "
                   "log can fill a later part of the sample)")
    p.add_argument("--report", action="store_true", help="train nothing: summarise the models of the log whose "
                   "index (< --n) both spaces have (a stopped run's figures; every index is an independent draw)")
    p.add_argument("--figure", type=Path, default=ROOT / "docs" / "figures" / "ordering.svg")
    a = p.parse_args([] if argv is None else argv)
    load = os.getloadavg()
    t0 = time.perf_counter()
    if a.report:
        rows = read_log(a.log)
        both = set.intersection(*({r["index"] for r in rows if r["space"] == sp} for sp in SPACES))
        rows = [r for r in rows if r["index"] in both and r["index"] < a.n]
    else:
        rows = train_all(a.n, a.workers, a.log, a.resume, a.first)
    wall = time.perf_counter() - t0
    s = summarize(rows)
    edf_svg(s["errors"], f"RegNetX vs AnyNetX_A on digits, cpu-proxy recipe (KS {s['ks']:.3f}, p {s['p']:.3g})",
            a.figure)
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; wall {wall:.0f} s for this run; "
          f"median {s['seconds']:.1f} s per model ({s['cpu_seconds']:.1f} s of CPU)")
    for sp in SPACES:
        f = s["failures"][sp]
        print(f"{sp}: n={s['n'][sp]}, median {s['median'][sp]:.2f} %, mean {s['mean'][sp]:.2f} %, "
              f"{f['diverged']} diverged, {f['did_not_learn']} did not learn, {f['at_chance']} at chance")
    print(f"KS {s['ks']:.3f} (p = {s['p']:.3g}); D+ (RegNetX above) {s['d_plus']:.3f}, D- (AnyNetX_A above) "
          f"{s['d_minus']:.3f}, DKW 95 % half-width {s['dkw']:.3f}")
    print(f"RegNetX's EDF left of AnyNetX_A's: {s['left']} (everywhere: {s['strictly_left']}); figure {a.figure}")
    demo = [r for r in rows if r["index"] < DEMO_N]
    if demo:  # the demo's own models (same configs, seeds and recipe): its medians and CPU cost, measured here
        cpu = [float(r.get("cpu_seconds", "nan")) for r in demo]
        print("demo models (index < 24) among them: " + ", ".join(
            f"{sp} {len(e)}, median {np.median(e):.2f} %, {sum(x >= 81 for x in e)} at chance"
            for sp in SPACES if (e := [r["error_final"] for r in demo if r["space"] == sp]))
            + f"; {np.mean(cpu):.1f} s of CPU a model on average")
    return [("ordering median error RegNetX", s["median"]["RegNetX"], "%"),
            ("ordering median error AnyNetX_A", s["median"]["AnyNetX_A"], "%"),
            ("ordering KS statistic", s["ks"], ""), ("ordering KS p-value", s["p"], ""),
            ("ordering RegNetX EDF left of AnyNetX_A", float(s["left"]), "bool")]


if __name__ == "__main__":
    main(sys.argv[1:])

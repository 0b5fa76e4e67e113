"""Shared helpers of the refine/lineage tests: sampled studies whose jobs are finished through the real queue
with errors computed from each model's config (no training), so refinements really move the error EDF."""

from __future__ import annotations

import click
import numpy as np

from backend.services.studies import StudyIn, create_study
from db.queue import claim_job, complete_job, register_worker

REGIME = {"flops": [None, "5M"]}

def synthetic_error(cfg: dict, flops: int, rng: np.random.Generator) -> float:
    """A made-up but config-driven error: decreasing widths and b = 4 hurt, more flops help."""
    widths = cfg["widths"]
    drops = sum(1 for a, b in zip(widths, widths[1:], strict=False) if b < a)
    b4 = sum(1 for bm in cfg["bot_muls"] if abs(bm - 0.25) < 1e-9)
    return float(30 - 2 * np.log(flops / 1e6) + 3 * drops + 1.5 * b4 + rng.normal(0, 0.5))


def train_synthetic(engine, study_id: int, seed: int = 0) -> dict[int, float]:
    """Finish every queued job of a study as a worker does (claim, complete); model id -> error."""
    wid = register_worker(engine, "cpu", worker_id=f"refine-test-{study_id}-{seed}")
    rng = np.random.default_rng(seed)
    out = {}
    while (job := claim_job(engine, wid, study_id=study_id)) is not None:
        e = synthetic_error(job.config, job.flops, rng)
        assert complete_job(engine, job.job_id, wid, {"error": e, "test_error": [e + 2, e]})
        out[job.model_id] = e
    return out


def make_study(engine, name: str, space: str, n: int, seed: int = 0, **kw) -> tuple[int, dict[int, float]]:
    sid = create_study(engine, StudyIn(name=name, space=space, regime=REGIME, recipe={"epochs": 1}, n=n, seed=seed,
                                       **kw))["id"]
    return sid, train_synthetic(engine, sid, seed)


def dry_parse(argv: list[str]) -> None:
    """Parse a `netspace ...` command line exactly as the CLI would, without running it (for commands that
    cannot run here: GPU worker fleets, SLURM launches, a server that never exits). Unknown commands or
    options, bad types and out-of-range numbers raise click's UsageError/BadParameter."""
    import typer.main

    from backend.cli.main import app

    group = typer.main.get_command(app)
    name, *args = argv
    cmd = group.commands.get(name)
    if cmd is None:
        raise click.UsageError(f"no such command {name!r}")
    cmd.make_context(f"netspace {name}", args)


if __name__ == "__main__":  # `python tests/refine_helpers.py worker --db ... --device auto`: the tutorial's dry run
    import sys

    import typer

    try:
        dry_parse(sys.argv[1:])
    except (click.ClickException, typer.TyperException) as e:  # typer vendors its own click
        print(f"error: {' '.join(e.format_message().split())}", file=sys.stderr)
        sys.exit(2)
    print(f"parsed: netspace {' '.join(sys.argv[1:])}")

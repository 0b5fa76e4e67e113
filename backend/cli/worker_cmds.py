"""`netspace worker` (train queued jobs) and `netspace launch slurm` (workers on a cluster via submitit)."""

from __future__ import annotations

from typing import Annotated

import typer

from backend.fielderrors import InvalidField

from .app import app

DeviceOption = Annotated[str, typer.Option(help="auto (every GPU, else CPU), cpu, or cuda:N")]


def _db_url(db: str | None) -> str:
    from db.engine import database_url

    return database_url(db)


def _check_device(device: str) -> None:
    if device not in ("auto", "cpu") and not (device == "cuda" or device.startswith("cuda:")):
        raise InvalidField("device", f"must be auto, cpu or cuda[:N], got {device!r}")


@app.command()
def worker(
    db: Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: $NETSPACE_DB or ./netspace.db)")] = None,
    device: DeviceOption = "auto",
    per_device: Annotated[int, typer.Option(min=1, max=64, help="worker processes per device")] = 1,
    once: Annotated[bool, typer.Option(help="exit once no job is queued or running")] = False,
    max_jobs: Annotated[int | None, typer.Option(min=1, help="exit after this many jobs (per process)")] = None,
    study: Annotated[int | None, typer.Option(min=1, help="only train this study's jobs (id)")] = None,
    lease: Annotated[float, typer.Option(min=5, max=86400, help="lease seconds; heartbeats renew it")] = 120.0,
    heartbeat: Annotated[float | None, typer.Option(min=0.5, help="heartbeat seconds (default lease/8)")] = None,
) -> None:
    """Train queued jobs: claim, build, train with the study's recipe, evaluate, time, report, repeat."""
    from workers import pool
    from workers.worker import WorkerOptions, run_worker

    _check_device(device)
    url = _db_url(db)
    devices = pool.plan(device, per_device)
    if len(devices) > 1:
        extra = [*(["--once"] if once else []), *(["--max-jobs", str(max_jobs)] if max_jobs else []),
                 *(["--study", str(study)] if study else []), "--lease", str(lease),
                 *(["--heartbeat", str(heartbeat)] if heartbeat else [])]
        raise typer.Exit(pool.supervise(url, devices, extra))
    opts = WorkerOptions(db_url=url, device=devices[0], lease_seconds=lease,
                         heartbeat_seconds=heartbeat or lease / 8, once=once, max_jobs=max_jobs, study_id=study)
    raise typer.Exit(run_worker(opts))


@app.command()
def launch(
    target: Annotated[str, typer.Argument(help="slurm (a SLURM cluster) or local (this machine, for testing)")],
    workers: Annotated[int, typer.Option(min=1, max=10_000, help="worker jobs to submit")] = 1,
    db: Annotated[str | None, typer.Option(help="database URL the workers use (PostgreSQL for a fleet)")] = None,
    partition: Annotated[str | None, typer.Option(help="SLURM partition")] = None,
    gpus_per_worker: Annotated[int, typer.Option(min=0, max=16, help="GPUs per worker job")] = 1,
    per_device: Annotated[int, typer.Option(min=1, max=64, help="worker processes per GPU inside a job")] = 1,
    time: Annotated[float, typer.Option(min=0.01, max=720, help="time limit per job, hours")] = 24.0,
    cpus_per_worker: Annotated[int, typer.Option(min=1, max=256)] = 8,
    mem_gb: Annotated[int, typer.Option(min=1, max=4096)] = 32,
    folder: Annotated[str, typer.Option(help="submitit log folder")] = "netspace-launch",
    once: Annotated[bool, typer.Option(help="workers exit when the queue is empty")] = True,
    max_jobs: Annotated[int | None, typer.Option(min=1, help="each worker exits after this many jobs")] = None,
) -> None:
    """Submit worker processes through submitit (FAIR's launcher, the one pycls uses)."""
    from workers.launch import LaunchSpec, submit

    if target not in ("slurm", "local"):
        raise InvalidField("target", f"must be slurm or local, got {target!r}")
    spec = LaunchSpec(cluster=target, workers=workers, db_url=_db_url(db), partition=partition,
                      gpus_per_worker=gpus_per_worker, per_device=per_device, hours=time,
                      cpus_per_worker=cpus_per_worker, mem_gb=mem_gb, folder=folder, once=once, max_jobs=max_jobs)
    jobs = submit(spec)
    for job in jobs:
        print(job.job_id)

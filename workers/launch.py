"""Launch worker processes on a SLURM cluster (or locally, for testing) through submitit.

Each submitted job is an ordinary netspace worker (or a pool of them, `per_device` per visible GPU) that talks
to the fleet's database; nothing else is shipped to the nodes. Preemption sends SIGTERM, which makes the
worker hand its job back to the queue, so a preempted job costs at most one epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.fielderrors import InvalidField


@dataclass
class LaunchSpec:
    cluster: str  # "slurm" or "local"
    workers: int
    db_url: str
    partition: str | None = None
    gpus_per_worker: int = 1
    per_device: int = 1
    hours: float = 24.0
    cpus_per_worker: int = 8
    mem_gb: int = 32
    folder: str = "netspace-launch"
    once: bool = True
    max_jobs: int | None = None


def worker_job(db_url: str, gpus: int, per_device: int, once: bool, max_jobs: int | None) -> int:
    """What runs on the node: one worker per visible GPU (times per_device), or one CPU worker."""
    from workers import pool
    from workers.worker import WorkerOptions, run_worker

    devices = pool.plan("auto" if gpus else "cpu", per_device)
    if len(devices) == 1:
        return run_worker(WorkerOptions(db_url=db_url, device=devices[0], once=once, max_jobs=max_jobs))
    extra = [*(["--once"] if once else []), *(["--max-jobs", str(max_jobs)] if max_jobs else [])]
    return pool.supervise(db_url, devices, extra)


def executor_for(spec: LaunchSpec):
    import submitit

    executor = submitit.AutoExecutor(folder=spec.folder, cluster=spec.cluster)
    params: dict[str, object] = {
        "name": "netspace-worker", "timeout_min": max(1, int(spec.hours * 60)), "tasks_per_node": 1,
        "nodes": 1, "cpus_per_task": spec.cpus_per_worker, "mem_gb": spec.mem_gb,
    }
    if spec.gpus_per_worker:
        params["gpus_per_node"] = spec.gpus_per_worker
    if spec.partition:
        params["slurm_partition"] = spec.partition
    executor.update_parameters(**params)
    return executor


def submit(spec: LaunchSpec) -> list:
    """Submit `spec.workers` worker jobs (one SLURM job array); returns the submitit jobs."""
    if spec.cluster == "slurm":
        import shutil

        if shutil.which("sbatch") is None:
            raise InvalidField("target",
                               "SLURM's sbatch is not on PATH here; run `netspace launch slurm` on a login node")
    executor = executor_for(spec)
    args = (spec.db_url, spec.gpus_per_worker, spec.per_device, spec.once, spec.max_jobs)
    with executor.batch():
        jobs = [executor.submit(worker_job, *args) for _ in range(spec.workers)]
    return jobs

"""The worker process: claim a job, train it, report, repeat — talking to the database only.

A worker holds its job by a lease. A heartbeat thread extends the lease every `heartbeat_seconds` while
training runs (and keeps the worker row alive while idle); when the lease was lost (expired and handed to
another worker, or the job was cancelled) training stops at the next step and nothing is written. Every
epoch's metrics go to the database as they happen, so the dashboard shows progress live.

Signals: SIGTERM/SIGINT stop claiming, put the current job back in the queue (no attempt counted) and exit 0.
Failures in one job (bad config, missing dataset, CUDA out of memory, ...) fail that job with the reason and
the worker goes on. Lost database connections (a restarted PostgreSQL) are retried with back-off.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from backend.analysis.widths import e_fit_of
from backend.study_spec import DatasetSpec, Recipe, job_seed
from db import queue
from db.engine import make_engine
from db.migrate import upgrade

log = logging.getLogger("netspace.worker")
T = TypeVar("T")


@dataclass
class WorkerOptions:
    db_url: str
    device: str = "auto"
    lease_seconds: float = 120.0
    heartbeat_seconds: float = 15.0
    poll_seconds: float = 2.0
    once: bool = False  # exit once nothing is queued or running (a dead worker's job returns at lease expiry)
    max_jobs: int | None = None  # exit after this many jobs
    study_id: int | None = None  # only this study's jobs
    db_retry_seconds: float = 600.0  # give up on the database after this long without a connection
    #: CPU priority offset (os.nice) the worker runs at; None: $NETSPACE_WORKER_NICE, else DEFAULT_NICE
    nice: int | None = None


#: training yields the CPU to the dashboard on a shared host: a worker is busy for hours and loses ~nothing by
#: waiting a few ms, while a reader waiting behind it sees every figure slow down (bench/soak_bench.py)
DEFAULT_NICE = 10


def lower_priority(nice: int | None) -> int:
    """Raise this process's niceness by `nice` (None: $NETSPACE_WORKER_NICE, else DEFAULT_NICE; 0 leaves it);
    returns the niceness now. Data-loader processes started later inherit it."""
    if nice is None:
        env = os.environ.get("NETSPACE_WORKER_NICE", "").strip()
        nice = int(env) if env.lstrip("-").isdigit() else DEFAULT_NICE
    try:
        return os.nice(max(0, min(int(nice), 19)))
    except OSError:  # not allowed here: run at the priority we have
        return os.nice(0)


@dataclass
class Holding:
    """One claimed job and whether its lease is gone: a fresh object per claim, so a heartbeat that was in
    flight for a job that has since finished can only mark *that* job lost, never the next one (a shared flag,
    cleared for the next claim and then set by the late heartbeat, abandoned the next job)."""

    job: queue.ClaimedJob
    lost: threading.Event = field(default_factory=threading.Event)


class Worker:
    def __init__(self, opts: WorkerOptions) -> None:
        self.opts = opts
        self.engine = make_engine(opts.db_url)
        self.stopping = threading.Event()  # SIGTERM: finish nothing more, release the job
        self.holding: Holding | None = None  # the current job and its own lost flag
        self.jobs_done = 0
        self._sources: dict[tuple, Any] = {}  # loaded datasets, reused between jobs of the same study setup

    # ------------------------------------------------------------------ plumbing
    def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a queue call, retrying while the database is unreachable (restart, fail-over)."""
        delay, waited = 0.5, 0.0
        while True:
            try:
                return fn(self.engine, *args, **kwargs)
            except (OperationalError, DBAPIError) as e:
                if not getattr(e, "connection_invalidated", False) and not isinstance(e, OperationalError):
                    raise
                if waited >= self.opts.db_retry_seconds:
                    raise
                log.warning("database unavailable (%s); retrying in %.1fs", type(e.orig).__name__, delay)
                time.sleep(delay)
                waited += delay
                delay = min(delay * 2, 10.0)

    def install_signal_handlers(self) -> None:
        def stop(signum: int, _frame: object) -> None:
            log.info("signal %s: releasing the current job and stopping", signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def _heartbeat_loop(self, worker_id: str) -> None:
        while not self._hb_stop.wait(self.opts.heartbeat_seconds):
            self.beat(worker_id, self.holding)

    def beat(self, worker_id: str, holding: Holding | None) -> None:
        """One heartbeat for the job held when it started (`holding`, read once): a lost lease marks that
        job's own flag, so a renewal that raced the job's completion cannot touch the job claimed next."""
        try:
            if holding is None:
                queue.worker_heartbeat(self.engine, worker_id)
            elif not queue.heartbeat(self.engine, holding.job.job_id, worker_id, self.opts.lease_seconds):
                if holding is self.holding:  # a job that already ended is not "lost", only over
                    log.warning("lease of job %s lost; dropping it", holding.job.job_id)
                holding.lost.set()
        except (OperationalError, DBAPIError) as e:  # keep training; the lease covers short outages
            log.warning("heartbeat failed: %s", type(e).__name__)

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        from workers.train import resolve_device

        device = resolve_device(self.opts.device)
        self._db(upgrade)
        worker_id = self._db(queue.register_worker, device=str(device))
        self.worker_id = worker_id
        self._hb_stop = threading.Event()
        hb = threading.Thread(target=self._heartbeat_loop, args=(worker_id,), daemon=True, name="heartbeat")
        hb.start()
        log.info("worker %s on %s", worker_id, device)
        try:
            while not self.stopping.is_set():
                if self.opts.max_jobs is not None and self.jobs_done >= self.opts.max_jobs:
                    break
                self._db(queue.requeue_expired)
                job = self._db(queue.claim_job, worker_id, self.opts.lease_seconds, study_id=self.opts.study_id)
                if job is None:
                    if self.opts.once and self._drained():
                        break
                    self.stopping.wait(self.opts.poll_seconds)
                    continue
                self.holding = Holding(job)
                try:
                    self._run_job(self.holding, device)
                finally:
                    self.holding = None
                    self.jobs_done += 1
        finally:
            self._hb_stop.set()
            hb.join(timeout=5)
            self._db(queue.unregister_worker, worker_id)
        return 0

    def _drained(self) -> bool:
        """Nothing queued and nothing running: a job running elsewhere may still come back (lease expiry)."""
        counts = self._db(queue.queue_counts, self.opts.study_id)
        return counts.get("queued", 0) == 0 and counts.get("running", 0) == 0

    def _data_source(self, dataset: DatasetSpec, im_size: int, device: Any) -> Any:
        from workers.data import load_dataset

        key = (dataset.model_dump_json(), im_size, str(device))
        if key not in self._sources:
            self._sources.clear()  # one dataset in memory at a time
            self._sources[key] = load_dataset(dataset, im_size, device)
        return self._sources[key]

    def _run_job(self, holding: Holding, device: Any) -> None:
        from workers.train import TrainingError, TrainingStopped, train_model

        wid, job, lost = self.worker_id, holding.job, holding.lost
        log.info("job %s (model %s, attempt %s/%s)", job.job_id, job.model_id, job.attempt, job.max_attempts)
        try:
            if job.arch_type != "anynet" and not is_cell_config(job.config):
                raise TrainingError(f"config: arch_type '{job.arch_type}' cannot be trained (imported population)")
            dataset = DatasetSpec.model_validate(job.dataset)
            recipe = Recipe.model_validate(job.recipe)
            try:
                dataset.check_exists()
                data = self._data_source(dataset, job.im_size, device)
            except (ValueError, OSError) as e:
                raise TrainingError(f"dataset: {e}") from e

            def on_epoch(m: Any) -> None:
                metrics = {"epoch": m.epoch, "epochs": m.epochs, "lr": m.lr, "train_loss": m.train_loss,
                           "train_error": m.train_error, "test_error": m.test_error, "seconds": m.seconds,
                           "diverged": m.diverged}
                if not self._db(queue.record_epoch, job.job_id, wid, metrics, self.opts.lease_seconds):
                    lost.set()

            result = train_model(
                job.config, data, recipe, seed=job_seed(job.study_seed, job.model_index), device=device,
                on_epoch=on_epoch, should_stop=lambda: self.stopping.is_set() or lost.is_set())
        except TrainingStopped:
            if self.stopping.is_set() and not lost.is_set():
                self._db(queue.release_job, job.job_id, wid)
                log.info("job %s released back to the queue", job.job_id)
            return
        except Exception as e:  # any failure of this job is recorded and the worker goes on
            reason = " ".join(str(e).split()) or type(e).__name__
            status = self._db(queue.fail_job, job.job_id, wid, reason)
            log.warning("job %s failed (%s): %s", job.job_id, status, reason)
            return
        if self._db(queue.complete_job, job.job_id, wid, result.as_result(), derived_values(job.config)):
            log.info("job %s done: error %.2f%%", job.job_id, result.error)
        else:
            log.warning("job %s finished but this worker no longer holds it; result dropped", job.job_id)


def is_cell_config(config: Any) -> bool:
    """A NAS cell net sampled from a native NDS cell space (workers/cells.py builds it)."""
    return isinstance(config, dict) and config.get("type") == "nds_cell"


def derived_values(config: dict[str, Any]) -> dict[str, float | None] | None:
    """The model's derived values (e_fit; tens of ms beside seconds of training, off the server), or None —
    left to services.derived — should the fit fail: a result is never lost to it."""
    if is_cell_config(config):
        return None  # a cell net has no stages: nothing to derive (its row was stored as derived)
    try:
        return {"e_fit": e_fit_of(config)}
    except ValueError as e:
        log.warning("e_fit not derived: %s", e)
        return None


def run_worker(opts: WorkerOptions, install_signals: bool = True) -> int:
    """Entry point for the CLI, `serve --workers` children and SLURM jobs (submitit)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    lower_priority(opts.nice)
    worker = Worker(opts)
    if install_signals:
        worker.install_signal_handlers()
    return worker.run()

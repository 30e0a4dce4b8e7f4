"""The worker's Huey tasks: thin entry points over the job services.

wiring/process.py creates this process's Huey instance and calls `register` once, so the web and
the worker declare the same tasks (the web only enqueues them); `huey_consumer wiring.process.huey`
runs them. Their queue names stay `tasks.run_job` and `tasks.reconcile`.
"""
from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from huey.api import Huey, TaskWrapper

from core.config import Config
from jobs.orchestrator import JobOrchestrator
from jobs.reconciler import Reconciler

log = logging.getLogger("tasks")


class Worker(Protocol):
    """What the tasks take from their process: its configuration, a connection, an orchestrator, a reconciler."""

    config: Config

    def connected(self) -> AbstractContextManager[Any]:
        """The process's services with a database connection held for the block."""

    def orchestrator(self) -> JobOrchestrator:
        """An orchestrator for this worker process."""

    def reconciler(self) -> Reconciler:
        """The reconciler with this process's settings."""


class HueyJobQueue:
    """JobQueue over Huey: one `run_job` task per job id."""

    def __init__(self, huey: Huey, run_job: TaskWrapper) -> None:
        self.huey = huey
        self.run_job = run_job

    def enqueue(self, job_id: str, delay_seconds: float = 0.0) -> None:
        if delay_seconds > 0:
            self.run_job.schedule(args=(job_id,), delay=delay_seconds)
        else:
            self.run_job(job_id)

    def held_job_ids(self) -> set[str]:
        tasks = list(self.huey.pending()) + list(self.huey.scheduled())
        return {t.args[0] for t in tasks if t.name.endswith("run_job") and t.args}


@dataclass(frozen=True)
class WorkerTasks:
    """The tasks `register` declared, and the JobQueue that enqueues `run_job`."""

    run_job: TaskWrapper
    reconcile: TaskWrapper
    queue: HueyJobQueue


def register(huey: Huey, worker: Worker) -> WorkerTasks:
    """Declare the tasks and the worker's startup hook on `huey` (once per process)."""

    @huey.on_startup()
    def startup() -> None:
        """Prepare the database and recover lost jobs when a worker starts."""
        with worker.connected():
            counts = worker.reconciler().run()
        log.info("worker ready on %s: reconciled %s", worker.config.host_name, counts)

    @huey.task()
    def run_job(job_id: str) -> str:
        """Run one job through the orchestrator."""
        with worker.connected():
            return worker.orchestrator().run(job_id).status

    @huey.task()
    def reconcile() -> dict:
        """Recover stale running jobs and queued jobs whose task was lost."""
        with worker.connected():
            return worker.reconciler().run()

    return WorkerTasks(run_job, reconcile, HueyJobQueue(huey, run_job))

"""The Huey module: `huey_consumer tasks.huey` runs the worker; its tasks are thin entry points.

The composition root (wiring/process.py) owns the process's configuration, Huey instance and
services; this module declares the tasks on that instance once and hands the composition root the
JobQueue that enqueues `run_job`. The web imports it only to enqueue (api.app.get_app).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from huey.api import Huey, TaskWrapper

import periodic.schedule
from wiring.process import Worker, config, huey, process

log = logging.getLogger("tasks")


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


worker_tasks = register(huey, process)
periodic_tasks = periodic.schedule.register(huey, process, worker_tasks.reconcile)
process.queue = worker_tasks.queue
run_job, reconcile = worker_tasks.run_job, worker_tasks.reconcile
__all__ = ["config", "huey", "process", "run_job", "reconcile", "periodic_tasks"]

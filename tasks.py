"""The Huey module: `huey_consumer tasks.huey` runs the worker; its tasks are thin entry points.

The composition root (wiring/process.py) owns the process's configuration, Huey instance and
services; this module declares the tasks on that instance once and hands the composition root the
JobQueue that enqueues `run_job`. The web imports it only to enqueue (api.app.get_app).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from huey.api import Huey, TaskWrapper

import periodic.schedule
from core.logs import job_context
from core.memory import LARGE_JOB_SECONDS, release_free_memory
from wiring.process import Worker, config, huey, process, warm_up

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
    notify_finished: TaskWrapper
    queue: HueyJobQueue


def register(huey: Huey, worker: Worker) -> WorkerTasks:
    """Declare the tasks and the worker's startup hook on `huey` (once per process)."""

    @huey.on_startup()
    def startup() -> None:
        """Prepare the database, announce this worker and recover lost jobs when a worker starts."""
        with worker.connected():
            if not worker.presence().start():
                return  # huey runs this hook in every worker thread; the process is ready once
            counts = worker.reconciler().run()
        warm_up(worker.config)  # actualpy imported and Actual logged in now, not by the first job
        log.info("worker ready on %s: reconciled %s", worker.config.host_name, counts)

    @huey.on_shutdown()
    def shutdown() -> None:
        """Remove this worker's liveness row and send the notifications already queued."""
        with worker.connected():
            worker.presence().stop()
        worker.stop_notices()

    @huey.task()
    def run_job(job_id: str) -> str:
        """Run one job through the orchestrator."""
        started = time.monotonic()
        with job_context(job_id), worker.connected(), worker.presence().running(job_id):
            status = worker.orchestrator().run(job_id).status
        if time.monotonic() - started >= LARGE_JOB_SECONDS:
            release_free_memory()  # what the job read and trained on, back to the OS (core/memory.py)
        if worker.config.notify_urls and status in ("failed", "succeeded"):
            notify_finished()  # its own task: a slow receiver never holds this job or its budget
        return status

    @huey.task()
    def reconcile() -> dict:
        """Recover stale running jobs and queued jobs whose task was lost."""
        with worker.connected():
            return worker.reconciler().run()

    @huey.task()
    def notify_finished() -> int:
        """Announce the jobs that ended and were not announced yet (each once, across all workers)."""
        notices = worker.notices()
        if notices is None:
            return 0
        with worker.connected():
            return notices.sweep()

    return WorkerTasks(run_job, reconcile, notify_finished, HueyJobQueue(huey, run_job))


worker_tasks = register(huey, process)
periodic_tasks = periodic.schedule.register(huey, process, worker_tasks.reconcile, worker_tasks.notify_finished)
process.queue = worker_tasks.queue
run_job, reconcile = worker_tasks.run_job, worker_tasks.reconcile
__all__ = ["config", "huey", "process", "run_job", "reconcile", "periodic_tasks"]

"""The Huey instance and its tasks: thin entry points over the job services."""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

from core.config import Config
from core.queue import make_huey
from core.shutdown import shutting_down
from core.wiring import Services, build_services, prepare
from jobs.orchestrator import JobOrchestrator
from jobs.reconciler import Reconciler
from jobs.registry import JobType
from jobs.steps import StepRunner
from models.db import database, keep_connections

log = logging.getLogger("tasks")

config = Config.from_env()
huey = make_huey(config.queue_url, config.queue_name)


class HueyJobQueue:
    """JobQueue over Huey: one `run_job` task per job id."""

    def enqueue(self, job_id: str, delay_seconds: float = 0.0) -> None:
        if delay_seconds > 0:
            run_job.schedule(args=(job_id,), delay=delay_seconds)
        else:
            run_job(job_id)

    def held_job_ids(self) -> set[str]:
        tasks = list(huey.pending()) + list(huey.scheduled())
        return {t.args[0] for t in tasks if t.name.endswith("run_job") and t.args}


_lock = threading.Lock()
_services: Optional[Services] = None
_extra_types: list[tuple[JobType, StepRunner]] = []


def register_job_type(job_type: JobType, runner: StepRunner) -> None:
    """Add a job type with its one step runner to this process (the benchmark's no-op job)."""
    _extra_types.append((job_type, runner))
    if _services is not None:
        _services.registry.register(job_type)


def services() -> Services:
    """This process's services, built (and the database prepared) on first use."""
    global _services
    with _lock:
        if _services is None:
            prepare(config)
            _services = build_services(config, HueyJobQueue())
            for job_type, _ in _extra_types:
                _services.registry.register(job_type)
        return _services


@contextmanager
def connected() -> Iterator[Services]:
    """This process's services with a database connection held for the block.

    On SQLite the thread's connection stays open for its next task (models.db.keep_connections).
    """
    s = services()
    if keep_connections():
        database.connect(reuse_if_open=True)
        yield s
        return
    with database.connection_context():
        yield s


def orchestrator() -> JobOrchestrator:
    """An orchestrator for this worker process."""
    s = services()
    runners = s.steps.runners()
    for job_type, runner in _extra_types:
        runners.update({step: runner for step in job_type.steps})
    return JobOrchestrator(s.jobs, runners, worker=f"{config.host_name}:{os.getpid()}",
                           heartbeat_seconds=config.heartbeat_interval_seconds, shutting_down=shutting_down,
                           on_thread_exit=database.close)


def reconciler() -> Reconciler:
    """The reconciler with this process's settings."""
    return Reconciler(services().jobs, heartbeat_timeout_seconds=config.heartbeat_timeout_seconds,
                      queued_grace_seconds=config.queued_grace_seconds)


@huey.on_startup()
def startup() -> None:
    """Prepare the database and recover lost jobs when a worker starts."""
    with connected():
        counts = reconciler().run()
    log.info("worker ready on %s: reconciled %s", config.host_name, counts)


@huey.task()
def run_job(job_id: str) -> str:
    """Run one job through the orchestrator."""
    with connected():
        return orchestrator().run(job_id).status


@huey.task()
def reconcile() -> dict:
    """Recover stale running jobs and queued jobs whose task was lost."""
    with connected():
        return reconciler().run()


import periodic.schedule  # noqa: E402,F401  registers the periodic tasks on `huey`

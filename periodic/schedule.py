"""Periodic tasks: scheduled sync & suggest, the reconciler, the retention purge."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from huey import crontab
from huey.api import Huey, TaskWrapper

from jobs.retention import purge_old_jobs
from jobs.scheduling import ScheduledSync, claim_slot
from jobs.workers import WorkerDirectory
from wiring.process import Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicTasks:
    """The periodic tasks `register` declared."""

    schedule_sync_and_suggest: TaskWrapper
    reconcile_every_interval: TaskWrapper
    purge_expired_jobs: TaskWrapper
    announce_finished_jobs: TaskWrapper


def register(huey: Huey, worker: Worker, reconcile: TaskWrapper, notify_finished: TaskWrapper) -> PeriodicTasks:
    """Declare the periodic tasks on `huey` (once per process) over the worker's reconcile and notify tasks."""
    config = worker.config

    @huey.periodic_task(crontab(minute="*"))
    def schedule_sync_and_suggest() -> list:
        """Enqueue scheduled_sync_and_suggest for every budget whose interval has passed."""
        with worker.connected() as s:
            return ScheduledSync(s.jobs, config.sync_interval_minutes).enqueue_due()

    @huey.periodic_task(crontab(minute="*"))
    def reconcile_every_interval() -> int:
        """Run the reconciler now and every RECONCILE_INTERVAL_SECONDS within this minute."""
        interval = config.reconcile_interval_seconds
        runs = 0
        for offset in range(0, 60, interval):
            if offset:
                reconcile.schedule(delay=offset)
            else:
                reconcile()
            runs += 1
        return runs

    @huey.periodic_task(crontab(minute="17", hour="3"))
    def purge_expired_jobs() -> int:
        """Delete jobs older than JOB_RETENTION_DAYS, once a day across all workers."""
        with worker.connected() as s:
            if not claim_slot("retention", dt.timedelta(hours=23), s.jobs.clock()):
                return 0
            WorkerDirectory(config.heartbeat_timeout_seconds).forget_old()  # rows of workers killed long ago
            with worker.baton.lent():  # minutes on a large history: the other worker threads run jobs meanwhile
                return purge_old_jobs(config.job_retention_days)

    @huey.periodic_task(crontab(minute="*"))
    def announce_finished_jobs() -> int:
        """Announce jobs that ended outside run_job (failed by the reconciler) or whose worker died first."""
        return notify_finished.call_local() if config.notify_urls else 0

    return PeriodicTasks(schedule_sync_and_suggest, reconcile_every_interval, purge_expired_jobs,
                         announce_finished_jobs)

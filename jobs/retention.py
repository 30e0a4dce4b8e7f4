"""Deletes finished jobs older than the retention period, in small batches."""
from __future__ import annotations

import datetime as dt
import logging
import time

from core.clock import Clock, utcnow
from models.db import write_transaction
from models.jobs import FINISHED_STATUSES, IdempotencyKey, Job, JobEvent, JobStep

log = logging.getLogger(__name__)


def purge_old_jobs(retention_days: int, *, batch_size: int = 500, pause_seconds: float = 0.005,
                   clock: Clock = utcnow) -> int:
    """Delete finished jobs created before the cutoff with their steps and events; return how many."""
    cutoff = clock() - dt.timedelta(days=retention_days)
    deleted = 0
    while True:
        with write_transaction():
            ids = [i for (i,) in Job.select(Job.id).where(Job.created_at < cutoff, Job.status.in_(FINISHED_STATUSES))
                   .order_by(Job.created_at).limit(batch_size).tuples()]
            if not ids:
                break
            JobEvent.delete().where(JobEvent.job.in_(ids)).execute()
            JobStep.delete().where(JobStep.job.in_(ids)).execute()
            Job.delete().where(Job.id.in_(ids)).execute()
        deleted += len(ids)
        time.sleep(pause_seconds)  # let concurrent requests take the write lock between batches
    with write_transaction():
        IdempotencyKey.delete().where(IdempotencyKey.created_at < clock() - dt.timedelta(hours=24)).execute()
    if deleted:
        log.info("retention: deleted %d jobs older than %d days", deleted, retention_days)
    return deleted

"""Finds jobs the queue lost: running jobs whose worker died, queued jobs whose task never arrived."""
from __future__ import annotations

import datetime as dt
import logging

from core.clock import Clock, utcnow
from jobs.service import JobService
from models.jobs import Job

log = logging.getLogger(__name__)


class Reconciler:
    """Makes the job rows, not the queue, the source of truth; harmless when run twice or on two hosts."""

    def __init__(self, service: JobService, *, heartbeat_timeout_seconds: float, queued_grace_seconds: float,
                 clock: Clock = utcnow) -> None:
        self.service = service
        self.clock = clock
        self.heartbeat_timeout = dt.timedelta(seconds=heartbeat_timeout_seconds)
        self.queued_grace = dt.timedelta(seconds=queued_grace_seconds)

    def run(self) -> dict[str, int]:
        """Recover stale running jobs and orphaned queued jobs; return counts."""
        now = self.clock()
        stale_before = now - self.heartbeat_timeout
        stale = (Job.select(Job.id).where(Job.status == "running",
                                          (Job.heartbeat_at < stale_before) |
                                          (Job.heartbeat_at.is_null() & (Job.updated_at < stale_before)))
                 .tuples())
        requeued = failed = 0
        for (job_id,) in list(stale):
            status = self.service.requeue(job_id, "The worker stopped while this job was running")
            if status == "queued":
                requeued += 1
            elif status == "failed":
                failed += 1
            if status:
                log.warning("job %s: worker lost, job %s", job_id, status)
        candidates = list(Job.select(Job.id, Job.enqueued_at, Job.blocked_by).where(
            Job.status == "queued", Job.enqueued_at < now - self.queued_grace,
            Job.next_attempt_at.is_null() | (Job.next_attempt_at <= now)).tuples())
        blockers = {b for _, _, b in candidates if b}
        # a job waiting for its budget is woken when the job it waits for ends; that one is not lost
        live_blockers = {i for (i,) in Job.select(Job.id).where(Job.id.in_(list(blockers)),
                                                                Job.status.in_(("queued", "running"))).tuples()} \
            if blockers else set()
        candidates = [(i, at) for i, at, b in candidates if b not in live_blockers]
        orphans = self.service.reenqueue_lost(candidates) if candidates else []
        for job_id in orphans:
            log.warning("job %s: queued without a task, enqueued again", job_id)
        return {"requeued": requeued, "failed": failed, "reenqueued": len(orphans)}

"""Retention deletes finished jobs older than the limit with their steps and events, and nothing else."""
from __future__ import annotations

import datetime as dt

from jobs.retention import purge_old_jobs
from models.jobs import Job, JobEvent, JobStep


def age_job(job_id: str, days: int) -> None:
    old = dt.datetime.utcnow() - dt.timedelta(days=days)
    Job.update(created_at=old, updated_at=old).where(Job.id == job_id).execute()


def finished_job(services, days_old: int) -> str:
    job = services.jobs.create("snapshot_create", "demo").job
    services.jobs.cancel(job.id)
    age_job(job.id, days_old)
    return job.id


def test_purge_deletes_old_finished_jobs_with_steps_and_events(services):
    old = [finished_job(services, 40) for _ in range(7)]
    recent = finished_job(services, 5)
    deleted = purge_old_jobs(30, batch_size=3, pause_seconds=0)
    assert deleted == 7
    assert Job.select().where(Job.id.in_(old)).count() == 0
    assert JobStep.select().where(JobStep.job.in_(old)).count() == 0
    assert JobEvent.select().where(JobEvent.job.in_(old)).count() == 0
    assert Job.get_by_id(recent).status == "canceled"
    assert JobEvent.select().where(JobEvent.job == recent).count() > 0


def test_purge_never_touches_an_active_job_however_old(services):
    job = services.jobs.create("budget_sync", "demo").job
    age_job(job.id, 90)
    assert purge_old_jobs(30, pause_seconds=0) == 0
    assert Job.get_by_id(job.id).status == "queued"

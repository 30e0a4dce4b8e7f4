"""Job, JobStep and JobEvent: the durable record of every long-running operation."""
from __future__ import annotations

import peewee as pw

from models.db import BaseModel, JSONField

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
STEP_STATUSES = ("pending", "running", "succeeded", "failed", "canceled")
FINISHED_STATUSES = ("succeeded", "failed", "canceled")


class Job(BaseModel):
    """One run of a job type for one budget."""

    id = pw.CharField(primary_key=True, max_length=36)
    budget_id = pw.CharField(max_length=64)
    type = pw.CharField(max_length=64)
    status = pw.CharField(max_length=16, default="queued")
    trigger = pw.CharField(max_length=16, default="user")
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    started_at = pw.DateTimeField(null=True)
    completed_at = pw.DateTimeField(null=True)
    failure_reason = pw.TextField(null=True)
    parent_job_id = pw.CharField(max_length=36, null=True)
    metadata = JSONField(default=dict)
    attempt = pw.IntegerField(default=0)
    max_attempts = pw.IntegerField(default=1)
    next_attempt_at = pw.DateTimeField(null=True)
    heartbeat_at = pw.DateTimeField(null=True)
    worker = pw.CharField(max_length=128, null=True)
    cancel_requested = pw.BooleanField(default=False)
    enqueued_at = pw.DateTimeField(null=True)
    blocked_by = pw.CharField(max_length=36, null=True)
    dedup_key = pw.CharField(max_length=128, default="")
    active = pw.BooleanField(null=True, default=True)  # True while queued/running, NULL once finished

    class Meta:
        table_name = "job"


class JobStep(BaseModel):
    """One ordered step of a job."""

    id = pw.AutoField()
    # index=False: job_step_position (job_id, position) serves every lookup by job (migration 0007)
    job = pw.ForeignKeyField(Job, backref="steps", on_delete="CASCADE", column_name="job_id", index=False)
    step_type = pw.CharField(max_length=32)
    position = pw.IntegerField()
    status = pw.CharField(max_length=16, default="pending")
    started_at = pw.DateTimeField(null=True)
    completed_at = pw.DateTimeField(null=True)
    failure_reason = pw.TextField(null=True)
    progress_done = pw.IntegerField(default=0)
    progress_total = pw.IntegerField(null=True)
    result = JSONField(null=True)

    class Meta:
        table_name = "job_step"


class JobEvent(BaseModel):
    """One transition of a job or a step, with a message a person can read."""

    id = pw.AutoField()
    # index=False: job_event_job (job_id, id) serves every lookup by job (migration 0007)
    job = pw.ForeignKeyField(Job, backref="events", on_delete="CASCADE", column_name="job_id", index=False)
    step_id = pw.IntegerField(null=True)
    status = pw.CharField(max_length=16)
    message = pw.TextField()
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "job_event"


class BudgetLock(BaseModel):
    """At most one running job per budget; expires when its worker stops heartbeating (SQLite: WITHOUT ROWID, 0007)."""

    budget_id = pw.CharField(primary_key=True, max_length=64)
    job_id = pw.CharField(max_length=36)
    expires_at = pw.DateTimeField()

    class Meta:
        table_name = "budget_lock"


class IdempotencyKey(BaseModel):
    """An Idempotency-Key header seen on a POST, with the job it created."""

    key = pw.CharField(primary_key=True, max_length=255)
    request_hash = pw.CharField(max_length=64)
    job_id = pw.CharField(max_length=36)
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "idempotency_key"


class PeriodicRun(BaseModel):
    """The last time a periodic duty ran cluster-wide, so several workers run it once."""

    name = pw.CharField(primary_key=True, max_length=64)
    last_run_at = pw.DateTimeField()

    class Meta:
        table_name = "periodic_run"

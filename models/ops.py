"""Worker liveness and the rolled-up totals of finished jobs that the metrics read."""
from __future__ import annotations

import peewee as pw

from models.db import BaseModel, JSONField


class Worker(BaseModel):
    """One worker process: where it runs, since when, when it was last seen and what it runs."""

    id = pw.CharField(primary_key=True, max_length=160)  # host:pid
    host = pw.CharField(max_length=128)
    pid = pw.IntegerField()
    started_at = pw.DateTimeField()
    last_seen_at = pw.DateTimeField()
    running_job_id = pw.CharField(max_length=36, null=True)
    running_jobs = pw.IntegerField(default=0)

    class Meta:
        table_name = "worker"


class JobTally(BaseModel):
    """Finished jobs of one type and status up to the rollup watermark: count, retries, duration histogram."""

    type = pw.CharField(max_length=64)
    status = pw.CharField(max_length=16)
    count = pw.IntegerField(default=0)
    retries = pw.IntegerField(default=0)
    duration_count = pw.IntegerField(default=0)
    duration_sum = pw.FloatField(default=0.0)
    buckets = JSONField(default=list)  # cumulative counts, one per bound of ops.metrics.DURATION_BUCKETS

    class Meta:
        table_name = "job_tally"
        primary_key = pw.CompositeKey("type", "status")


class JobNotice(BaseModel):
    """A finished job the notifier has looked at: written once, so each job is announced at most once."""

    job_id = pw.CharField(primary_key=True, max_length=36)
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "job_notice"


class BudgetLastSync(BaseModel):
    """A budget's latest successful sync up to the metrics roll-up's watermark."""

    budget_id = pw.CharField(primary_key=True, max_length=64)
    last_success_at = pw.DateTimeField()

    class Meta:
        table_name = "budget_last_sync"

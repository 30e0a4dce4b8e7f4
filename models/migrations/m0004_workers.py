"""Worker liveness rows, the finished-job tallies and last syncs behind /metrics, job notices, and their indexes."""
from __future__ import annotations

import peewee as pw

from models.ops import BudgetLastSync, JobNotice, JobTally, Worker

INDEXES = [
    "CREATE INDEX worker_last_seen ON worker (last_seen_at)",
    "CREATE INDEX job_notice_created ON job_notice (created_at)",
    # jobs finished since the tally's watermark (metrics) and a budget's last successful sync (schedule)
    "CREATE INDEX job_completed ON job (completed_at)",
    "CREATE INDEX job_budget_status_completed ON job (budget_id, status, completed_at)",
]


def up(db: pw.Database) -> None:
    """Create the worker, job_tally, job_notice and budget_last_sync tables and their indexes."""
    db.create_tables([Worker, JobTally, JobNotice, BudgetLastSync], safe=False)
    for statement in INDEXES:
        db.execute_sql(statement)

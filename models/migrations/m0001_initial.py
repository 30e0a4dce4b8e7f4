"""Jobs, steps, events, locks, idempotency keys, budgets, suggestions, snapshots."""
from __future__ import annotations

import peewee as pw

from models.domain import Budget, Snapshot, Suggestion
from models.jobs import BudgetLock, IdempotencyKey, Job, JobEvent, JobStep, PeriodicRun

TABLES = [Job, JobStep, JobEvent, BudgetLock, IdempotencyKey, PeriodicRun, Budget, Suggestion, Snapshot]

INDEXES = [
    # Latest jobs of a budget, optionally filtered by type or status (cursor on created_at, id).
    "CREATE INDEX job_budget_created ON job (budget_id, created_at, id)",
    "CREATE INDEX job_budget_type_created ON job (budget_id, type, created_at, id)",
    "CREATE INDEX job_budget_status_created ON job (budget_id, status, created_at, id)",
    "CREATE INDEX job_created ON job (created_at, id)",
    "CREATE INDEX job_status_created ON job (status, created_at)",
    # One queued-or-running job per (budget, type, dedup key); finished jobs carry active = NULL.
    "CREATE UNIQUE INDEX job_active_dedup ON job (budget_id, type, dedup_key, active)",
    "CREATE UNIQUE INDEX job_step_position ON job_step (job_id, position)",
    "CREATE INDEX job_event_job ON job_event (job_id, id)",
    "CREATE INDEX idempotency_key_created ON idempotency_key (created_at)",
    "CREATE INDEX suggestion_budget_status ON suggestion (budget_id, status, payee_key)",
    "CREATE UNIQUE INDEX suggestion_open_transaction ON suggestion (budget_id, transaction_id, open)",
    "CREATE INDEX snapshot_budget_created ON snapshot (budget_id, created_at)",
]


def up(db: pw.Database) -> None:
    """Create the first version of every table."""
    db.create_tables(TABLES, safe=False)
    for statement in INDEXES:
        db.execute_sql(statement)

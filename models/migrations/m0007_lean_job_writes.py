"""Fewer index pages written per job transition: two duplicate indexes dropped, two indexes on completed_at made
partial, and (SQLite) budget_lock stored in its primary key's B-tree.

A no-op job wrote about 15 SQLite pages per transaction, and a draining worker spends most of a job inside its
two write transactions. Each change here removes a page most transactions dirtied:
- job_event_job_id and job_step_job_id (peewee's foreign-key indexes) repeat the leading column of
  job_event_job (job_id, id) and job_step_position (job_id, position), which serve every lookup by job;
- job_completed and job_budget_status_completed held an entry for every unfinished job (completed_at NULL),
  moved at each claim and finish; partial (WHERE completed_at IS NOT NULL) they get one entry, when a job ends,
  and every query that reads them asks for a completed_at range or `IS NOT NULL`;
- budget_lock had a rowid table beside its text primary key's index: two B-trees per lock taken and released.
"""
from __future__ import annotations

import peewee as pw

STATEMENTS = [
    "DROP INDEX IF EXISTS job_event_job_id",
    "DROP INDEX IF EXISTS job_step_job_id",
    "DROP INDEX IF EXISTS job_completed",
    "CREATE INDEX job_completed ON job (completed_at) WHERE completed_at IS NOT NULL",
    "DROP INDEX IF EXISTS job_budget_status_completed",
    "CREATE INDEX job_budget_status_completed ON job (budget_id, status, completed_at) WHERE completed_at IS NOT NULL",
]
SQLITE_BUDGET_LOCK = [
    "ALTER TABLE budget_lock RENAME TO budget_lock_rowid",
    'CREATE TABLE budget_lock ("budget_id" VARCHAR(64) NOT NULL PRIMARY KEY, "job_id" VARCHAR(36) NOT NULL, '
    '"expires_at" DATETIME NOT NULL) WITHOUT ROWID',
    "INSERT INTO budget_lock (budget_id, job_id, expires_at) SELECT budget_id, job_id, expires_at FROM budget_lock_rowid",
    "DROP TABLE budget_lock_rowid",
]


def up(db: pw.Database) -> None:
    """Drop the duplicate indexes, make the completed_at indexes partial, rebuild budget_lock (SQLite)."""
    for statement in STATEMENTS:
        db.execute_sql(statement)
    if isinstance(db, pw.SqliteDatabase):
        for statement in SQLITE_BUDGET_LOCK:
            db.execute_sql(statement)

"""The job lifecycle's hot statements, written once as SQL that SQLite (3.35+) and PostgreSQL both run.

A no-op job's claim, step and finish ran 19 statements that peewee built anew each time (60 % of a
draining worker's CPU). Here each transition is one conditional UPDATE ... RETURNING (the status it
leaves is in its WHERE, so a concurrent change updates nothing), the budget lock one upsert, a
transaction's events one INSERT. JobService runs them and falls back to its general path whenever one
finds the row elsewhere than expected.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional, Sequence, TypeVar

import peewee as pw

from models.db import execute
from models.jobs import BudgetLock, Job, JobEvent, JobStep

M = TypeVar("M", bound=pw.Model)

JOB_FIELDS = tuple(Job._meta.sorted_fields)
STEP_FIELDS = tuple(JobStep._meta.sorted_fields)
_JOB_COLUMNS = ", ".join(f.column_name for f in JOB_FIELDS)
_STEP_COLUMNS = ", ".join(f.column_name for f in STEP_FIELDS)
JOB, STEP, EVENT, LOCK = (m._meta.table_name for m in (Job, JobStep, JobEvent, BudgetLock))


def _later(column: str) -> str:
    """The later of `column` and the parameter (twice): max(now, started_at) portably."""
    return f"CASE WHEN {column} > ? THEN {column} ELSE ? END"


# queued -> running, when due; the started time never before the creation time
CLAIM_JOB = (f"UPDATE {JOB} SET status = 'running', started_at = {_later('created_at')}, attempt = attempt + 1, "
             f"heartbeat_at = ?, worker = ?, blocked_by = NULL, next_attempt_at = NULL, updated_at = ? "
             f"WHERE id = ? AND status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
             f"RETURNING {_JOB_COLUMNS}")
# the budget's lock for this job unless another job holds a live one
TAKE_LOCK = (f"INSERT INTO {LOCK} (budget_id, job_id, expires_at) VALUES (?, ?, ?) "
             f"ON CONFLICT (budget_id) DO UPDATE SET job_id = excluded.job_id, expires_at = excluded.expires_at "
             f"WHERE {LOCK}.expires_at < ? OR {LOCK}.job_id = excluded.job_id RETURNING job_id")
# the job's lock, returning the oldest job of the budget that waits for it (NULL when none does)
RELEASE_LOCK = (f"DELETE FROM {LOCK} WHERE budget_id = ? AND job_id = ? RETURNING "
                f"(SELECT id FROM {JOB} WHERE budget_id = ? AND status = 'queued' AND blocked_by IS NOT NULL "
                f"ORDER BY created_at LIMIT 1)")
REFRESH_LOCK = f"UPDATE {LOCK} SET expires_at = ? WHERE job_id = ?"
# pending -> running for the job's first pending step
START_NEXT_STEP = (f"UPDATE {STEP} SET status = 'running', started_at = ?, completed_at = NULL, failure_reason = NULL "
                   f"WHERE id = (SELECT id FROM {STEP} WHERE job_id = ? AND status = 'pending' "
                   f"ORDER BY position LIMIT 1) AND status = 'pending' RETURNING {_STEP_COLUMNS}")
# running -> succeeded for one step
SUCCEED_STEP = (f"UPDATE {STEP} SET status = 'succeeded', completed_at = {_later('started_at')}, result = ? "
                f"WHERE id = ? AND job_id = ? AND status = 'running' RETURNING step_type")
TOUCH_JOB = f"UPDATE {JOB} SET updated_at = ? WHERE id = ?"
# running -> succeeded for the job
SUCCEED_JOB = (f"UPDATE {JOB} SET status = 'succeeded', completed_at = {_later('COALESCE(started_at, created_at)')}, "
               f"updated_at = ?, active = NULL, heartbeat_at = NULL, next_attempt_at = NULL, blocked_by = NULL "
               f"WHERE id = ? AND status = 'running' RETURNING budget_id")
HEARTBEAT = f"UPDATE {JOB} SET heartbeat_at = ? WHERE id = ? AND status = 'running' RETURNING cancel_requested"
CANCEL_REQUESTED = f"SELECT cancel_requested FROM {JOB} WHERE id = ?"
WAITING_JOB = (f"SELECT id FROM {JOB} WHERE budget_id = ? AND status = 'queued' AND blocked_by IS NOT NULL "
               f"ORDER BY created_at LIMIT 1")


# a new job with every column given (defaults filled in here), returned as stored
INSERT_JOB = (f"INSERT INTO {JOB} ({_JOB_COLUMNS}) VALUES ({', '.join(['?'] * len(JOB_FIELDS))}) "
              f"RETURNING {_JOB_COLUMNS}")


def job_params(values: dict[str, Any]) -> list[Any]:
    """INSERT_JOB's parameters: `values` by field name, each missing field at its model default."""
    params = []
    for f in JOB_FIELDS:
        value = values[f.name] if f.name in values else (f.default() if callable(f.default) else f.default)
        params.append(None if value is None else f.db_value(value))
    return params


@lru_cache(maxsize=None)
def insert_steps_sql(n: int) -> str:
    """One INSERT of a job's `n` pending steps, returning them as stored."""
    values = ", ".join(["(?, ?, ?, 'pending', 0)"] * n)
    return (f"INSERT INTO {STEP} (job_id, step_type, position, status, progress_done) VALUES {values} "
            f"RETURNING {_STEP_COLUMNS}")


@lru_cache(maxsize=None)
def insert_events_sql(n: int) -> str:
    """One INSERT of `n` events (ids ascend in the order given)."""
    values = ", ".join(["(?, ?, ?, ?, ?)"] * n)
    return f"INSERT INTO {EVENT} (job_id, step_id, status, message, created_at) VALUES {values}"


def insert_events(events: Sequence[tuple]) -> None:
    """Insert (job_id, step_id, status, message, created_at) rows in one statement."""
    execute(insert_events_sql(len(events)), [value for event in events for value in event])


def _converters(fields: tuple) -> list[tuple[int, str, Any]]:
    plain = (pw.CharField, pw.TextField, pw.IntegerField, pw.AutoField)  # the driver returns str and int already
    return [(i, f.name, None if type(f) in plain else f.python_value) for i, f in enumerate(fields)]


_JOB_CONVERT = _converters(JOB_FIELDS)
_STEP_CONVERT = _converters(STEP_FIELDS)


def _model(model: type[M], convert: list, row: Sequence[Any]) -> M:
    """A model instance from a row in `sorted_fields` order, in the state peewee's own cursor leaves it.

    Peewee's constructor stores each keyword through its field's descriptor (a dict write and a dirty mark per
    column, then the marks cleared); for raw column values that is exactly `__data__`, set here in one go
    (a third of a no-op job's claim in Python time).
    """
    data = {}
    for i, name, python_value in convert:
        value = row[i]
        data[name] = python_value(value) if python_value is not None and value is not None else value
    obj = model.__new__(model)
    obj.__data__, obj._dirty, obj.__rel__ = data, set(), {}
    return obj


def job_from_row(row: Sequence[Any]) -> Job:
    """A Job from a RETURNING row of every job column."""
    return _model(Job, _JOB_CONVERT, row)


def step_from_row(row: Optional[Sequence[Any]]) -> Optional[JobStep]:
    """A JobStep from a RETURNING row of every step column (None stays None)."""
    return None if row is None else _model(JobStep, _STEP_CONVERT, row)

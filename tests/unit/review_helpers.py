"""Test helpers for the review: a finished apply job with something to undo, without running one."""
from __future__ import annotations

import datetime as dt
import uuid

from models.jobs import Job
from models.review import AppliedChange


def finished_apply_job(budget_id: str = "demo") -> str:
    """The id of a succeeded suggestions_apply job that categorized one transaction (undoable)."""
    now = dt.datetime(2026, 11, 30, 6, 0)
    job_id = str(uuid.uuid4())
    Job.create(id=job_id, budget_id=budget_id, type="suggestions_apply", status="succeeded", created_at=now,
               updated_at=now, completed_at=now, active=None, metadata={})
    AppliedChange.create(budget_id=budget_id, job_id=job_id, suggestion_id="s-1", transaction_id="t-1",
                         previous_category_id=None, category_id="c-1", created_at=now)
    return job_id

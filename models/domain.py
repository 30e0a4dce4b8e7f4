"""Budgets, suggestions and snapshots: the domain tables beside the jobs."""
from __future__ import annotations

import peewee as pw

from models.db import BaseModel, JSONField

SUGGESTION_STATUSES = ("pending", "approved", "rejected", "applied", "skipped")
# rejected: a person said no. skipped: an apply left it alone because the budget changed (skip_reason says how).


class Budget(BaseModel):
    """A budget the service knows: a demo budget or an Actual server file."""

    id = pw.CharField(primary_key=True, max_length=64)
    name = pw.CharField(max_length=200)
    connector = pw.CharField(max_length=16)  # demo | actual
    seed = pw.IntegerField(default=0)
    options = JSONField(default=dict)
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "budget"


class Suggestion(BaseModel):
    """A proposed category for one uncategorized transaction, awaiting review."""

    id = pw.CharField(primary_key=True, max_length=36)
    budget_id = pw.CharField(max_length=64)
    transaction_id = pw.CharField(max_length=64)
    payee_name = pw.CharField(max_length=255)
    payee_key = pw.CharField(max_length=255)
    amount = pw.IntegerField()
    date = pw.DateField()
    account_name = pw.CharField(max_length=200)
    proposed_category_id = pw.CharField(max_length=64)
    proposed_category_name = pw.CharField(max_length=200)
    confidence = pw.FloatField()
    rationale = pw.TextField()
    status = pw.CharField(max_length=16, default="pending")
    job_id = pw.CharField(max_length=36, null=True)
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    open = pw.BooleanField(null=True, default=True)  # True while pending/approved: one open suggestion per transaction
    skip_reason = pw.TextField(null=True)  # why an apply skipped it ("changed by someone else"); migration 0005
    # review (migration 0006): the reviewer's category when it differs from the proposal (or was chosen by hand)
    origin = pw.CharField(max_length=16, default="engine")  # engine | manual (chosen by hand, no proposal)
    category_id = pw.CharField(max_length=64, null=True)
    category_name = pw.CharField(max_length=200, null=True)
    create_rule = pw.BooleanField(default=False)  # the apply also teaches the budget "payee -> category"
    payee_id = pw.CharField(max_length=64, null=True)
    account_id = pw.CharField(max_length=64, null=True)

    @property
    def final_category_id(self) -> str:
        """The category an apply writes: the reviewer's when chosen, else the proposed one."""
        return self.category_id or self.proposed_category_id

    @property
    def final_category_name(self) -> str:
        return self.category_name or self.proposed_category_name

    @property
    def corrected(self) -> bool:
        """Approved with another category than the engine proposed."""
        return self.origin == "engine" and bool(self.category_id) and self.category_id != self.proposed_category_id

    class Meta:
        table_name = "suggestion"


class Snapshot(BaseModel):
    """A copy of a budget's working copy taken by a snapshot_create job."""

    id = pw.CharField(primary_key=True, max_length=36)
    budget_id = pw.CharField(max_length=64)
    job_id = pw.CharField(max_length=36, null=True)
    path = pw.TextField()
    size_bytes = pw.IntegerField()
    transaction_count = pw.IntegerField()
    category_count = pw.IntegerField()
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "snapshot"

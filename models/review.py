"""What an apply job wrote to a budget, kept so that an undo can take exactly that back."""
from __future__ import annotations

import peewee as pw

from models.db import BaseModel


class AppliedChange(BaseModel):
    """One transaction an apply job categorized: the category before and after, and whether it tagged the notes."""

    id = pw.AutoField()
    budget_id = pw.CharField(max_length=64)
    job_id = pw.CharField(max_length=36)  # the apply job
    suggestion_id = pw.CharField(max_length=36)
    transaction_id = pw.CharField(max_length=64)
    previous_category_id = pw.CharField(max_length=64, null=True)
    category_id = pw.CharField(max_length=64)
    note_tag = pw.CharField(max_length=64, default="")  # the tag the apply appended to the notes ("" = none)
    created_at = pw.DateTimeField()
    revert_job_id = pw.CharField(max_length=36, null=True)
    revert_outcome = pw.CharField(max_length=200, null=True)  # "restored" or why it was left alone

    class Meta:
        table_name = "applied_change"


class AppliedRule(BaseModel):
    """A rule an apply job created in the budget: payee -> category (removed again by an undo)."""

    id = pw.AutoField()
    budget_id = pw.CharField(max_length=64)
    job_id = pw.CharField(max_length=36)
    rule_id = pw.CharField(max_length=64)  # the rule's id in the budget
    payee_id = pw.CharField(max_length=64, null=True)
    payee_name = pw.CharField(max_length=255)
    imported = pw.BooleanField(default=False)  # matches the imported payee text instead of the payee
    category_id = pw.CharField(max_length=64)
    category_name = pw.CharField(max_length=200)
    created_at = pw.DateTimeField()
    revert_job_id = pw.CharField(max_length=36, null=True)
    revert_outcome = pw.CharField(max_length=200, null=True)

    class Meta:
        table_name = "applied_rule"

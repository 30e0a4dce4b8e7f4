"""Turns a user's request for a job kind into a created (or deduplicated) job, after checking its inputs."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

from budget.service import BudgetService
from core.errors import NotFound
from jobs.inputs import BUDGET_ID, CheckContext
from jobs.registry import JobType, UnknownJobType
from jobs.service import Created, JobService
from suggestions.service import SuggestionService


class JobSubmission:
    """Checks a job request against the budgets and suggestions, then asks JobService to create it."""

    def __init__(self, jobs: JobService, budgets: BudgetService, suggestions: SuggestionService) -> None:
        self.jobs = jobs
        self.budgets = budgets
        self.suggestions = suggestions

    def job_type(self, kind: str) -> JobType:
        """The job type users start as `kind` (NotFound when there is none)."""
        try:
            return self.jobs.registry.by_kind(kind)
        except UnknownJobType:
            raise NotFound(f"No job kind {kind!r}.") from None

    def submit(self, kind: str, values: dict[str, Any], *, idempotency_key: Optional[str] = None,
               raw_body: Optional[dict] = None) -> Created:
        """Create the job of `kind` from its typed input `values` (201) or return its active twin (200)."""
        job_type = self.job_type(kind)
        budget = self.budgets.resolve(values[BUDGET_ID.name])
        ctx = CheckContext(budget.id, self.suggestions)
        metadata: dict = {}
        dedup_keys = []
        for job_input in job_type.inputs:
            derived = job_input.derive(ctx, values.get(job_input.name, job_input.default))
            metadata.update(derived.metadata)
            if derived.dedup_key:
                dedup_keys.append(derived.dedup_key)
        idempotency = None
        if idempotency_key:
            canonical = json.dumps({"kind": kind, "body": raw_body or {}}, sort_keys=True, separators=(",", ":"))
            idempotency = (idempotency_key, hashlib.sha256(canonical.encode()).hexdigest())
        return self.jobs.create(job_type.name, budget.id, metadata=metadata, dedup_key="|".join(dedup_keys)[:128],
                                idempotency=idempotency)

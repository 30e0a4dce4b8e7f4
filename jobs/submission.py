"""Turns a user's request for a job kind into a created (or deduplicated) job, after checking its inputs."""
from __future__ import annotations

import hashlib
import json
from typing import Optional

from budget.service import BudgetService
from core.errors import NotFound, ValidationFailed
from jobs.registry import UnknownJobType
from jobs.service import Created, JobService
from suggestions.service import SuggestionService


class JobSubmission:
    """Checks a job request against the budgets and suggestions, then asks JobService to create it."""

    def __init__(self, jobs: JobService, budgets: BudgetService, suggestions: SuggestionService) -> None:
        self.jobs = jobs
        self.budgets = budgets
        self.suggestions = suggestions

    def submit(self, kind: str, *, budget_id: str, full_resync: bool = False, suggestion_id: Optional[str] = None,
               suggestion_ids: Optional[list[str]] = None, idempotency_key: Optional[str] = None,
               raw_body: Optional[dict] = None) -> Created:
        """Create the job of `kind` for the budget (201) or return its active twin (200, deduplicated)."""
        try:
            job_type = self.jobs.registry.by_kind(kind)
        except UnknownJobType:
            raise NotFound(f"No job kind {kind!r}.") from None
        budget = self.budgets.resolve(budget_id)
        metadata: dict = {}
        dedup_key = ""
        if job_type.name == "sync_and_suggest":
            metadata["fullResync"] = full_resync
        elif job_type.name == "suggestions_retry_payee":
            if not suggestion_id:
                raise ValidationFailed("suggestionId is required.", field="suggestionId", code="missing_field")
            s = self.suggestions.get_or_none(suggestion_id)
            if s is None or s.budget_id != budget.id:
                raise ValidationFailed(f"Unknown suggestion id {suggestion_id!r} for this budget.",
                                       field="suggestionId", code="unknown_suggestion")
            metadata.update(suggestionId=s.id, payeeKey=s.payee_key, payeeName=s.payee_name)
            dedup_key = s.payee_key[:128]
        elif job_type.name == "suggestions_apply":
            if not suggestion_ids:
                raise ValidationFailed("suggestionIds is required.", field="suggestionIds", code="missing_field")
            self.suggestions.check_approved(budget.id, suggestion_ids)
            metadata["suggestionIds"] = suggestion_ids
        idempotency = None
        if idempotency_key:
            canonical = json.dumps({"kind": kind, "body": raw_body or {}}, sort_keys=True, separators=(",", ":"))
            idempotency = (idempotency_key, hashlib.sha256(canonical.encode()).hexdigest())
        return self.jobs.create(job_type.name, budget.id, metadata=metadata, dedup_key=dedup_key,
                                idempotency=idempotency)

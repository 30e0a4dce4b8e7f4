"""What a job type takes in its POST /api/jobs/{kind} body, and the domain checks attached to it."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from core.errors import ValidationFailed
from models.jobs import FINISHED_STATUSES, Job
from suggestions.ledger import ApplyLedger

if TYPE_CHECKING:
    from suggestions.service import SuggestionService

INPUT_TYPES = ("string", "boolean", "ids")  # ids: a non-empty list of distinct non-empty strings


@dataclass(frozen=True)
class Derived:
    """What a checked input adds to the job: metadata keys and a part of its dedup key."""

    metadata: dict = field(default_factory=dict)
    dedup_key: str = ""


@dataclass(frozen=True)
class CheckContext:
    """What an input's domain check may consult: the job's budget and the services that know its data."""

    budget_id: str
    suggestions: "SuggestionService"


InputCheck = Callable[[CheckContext, Any], Derived]


@dataclass(frozen=True)
class JobInput:
    """One field of a job request: name, type, whether required, and the check that turns it into metadata."""

    name: str
    type: str
    required: bool = False
    default: Any = None
    label: str = ""  # how the Job Center names an option it offers ("Full resync")
    description: str = ""
    max_length: int = 64  # for strings
    check: Optional[InputCheck] = None  # a domain check; without one the value is kept as metadata[name]
    in_metadata: bool = True

    def __post_init__(self) -> None:
        if self.type not in INPUT_TYPES:
            raise ValueError(f"input {self.name!r}: type must be one of {', '.join(INPUT_TYPES)}")

    def derive(self, ctx: CheckContext, value: Any) -> Derived:
        """The metadata and dedup key this input's value gives the job (after its domain check)."""
        if value is None or not self.in_metadata:
            return Derived()
        if self.check is not None:
            return self.check(ctx, value)
        # a job does exactly what a request asks only with the same options: a non-default one is part of the key
        key = "" if value == self.default else f"{self.name}={json.dumps(value, sort_keys=True)}"
        return Derived({self.name: value}, dedup_key=key)


def suggestion_of_budget(ctx: CheckContext, suggestion_id: str) -> Derived:
    """A suggestion of this budget: the job remembers its payee group and runs once per group at a time."""
    s = ctx.suggestions.get_or_none(suggestion_id)
    if s is None or s.budget_id != ctx.budget_id:
        raise ValidationFailed(f"Unknown suggestion id {suggestion_id!r} for this budget.",
                               field="suggestionId", code="unknown_suggestion")
    return Derived({"suggestionId": s.id, "payeeKey": s.payee_key, "payeeName": s.payee_name},
                   dedup_key=s.payee_key[:128])


def approved_suggestions(ctx: CheckContext, suggestion_ids: list[str]) -> Derived:
    """Suggestions of this budget that are all approved; only an apply of exactly these ids is the same job."""
    ctx.suggestions.check_approved(ctx.budget_id, suggestion_ids)
    return Derived({"suggestionIds": suggestion_ids}, dedup_key=ids_key(suggestion_ids))


def ids_key(ids: list[str]) -> str:
    """A dedup key equal for the same set of ids in any order, and different for any other set."""
    return "ids:" + hashlib.sha256(json.dumps(sorted(ids)).encode()).hexdigest()


def undoable_apply(ctx: CheckContext, job_id: str) -> Derived:
    """A finished apply job of this budget that wrote something no undo has taken back yet."""
    job = Job.get_or_none(Job.id == job_id)
    if job is None or job.budget_id != ctx.budget_id or job.type != "suggestions_apply":
        raise ValidationFailed(f"Unknown apply job id {job_id!r} for this budget.", field="applyJobId",
                               code="unknown_apply_job")
    if job.status not in FINISHED_STATUSES:
        raise ValidationFailed("That apply job has not finished yet; undo it once it has.", field="applyJobId",
                               code="apply_not_finished")
    ledger = ApplyLedger()
    if not ledger.plan(job_id):
        done = ledger.has_applied(job_id)
        raise ValidationFailed("That apply has been undone already." if done else "That apply changed nothing to undo.",
                               field="applyJobId", code="nothing_to_undo")
    return Derived({"applyJobId": job_id}, dedup_key=job_id[:128])


BUDGET_ID = JobInput("budgetId", "string", required=True, label="Budget", in_metadata=False,
                     description="the budget the job works on")
FULL_RESYNC = JobInput("fullResync", "boolean", default=False, label="Full resync",
                       description="download the whole budget again instead of the latest changes")
SUGGESTION_ID = JobInput("suggestionId", "string", required=True, label="Suggestion", check=suggestion_of_budget,
                         description="one suggestion of the payee group to suggest again")
SUGGESTION_IDS = JobInput("suggestionIds", "ids", required=True, label="Approved suggestions",
                          check=approved_suggestions, description="approved suggestion ids to write to the budget")
APPLY_JOB_ID = JobInput("applyJobId", "string", required=True, label="Apply job", check=undoable_apply,
                        description="the apply job whose categories and rules to take back")

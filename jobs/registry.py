"""The job types (label, inputs, ordered steps, retry policy, time limit) and the step types they are made of."""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence

from jobs import summaries
from jobs.inputs import APPLY_JOB_ID, BUDGET_ID, FULL_RESYNC, SUGGESTION_ID, SUGGESTION_IDS, JobInput


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how late a job whose step hit a transient error is tried again."""

    attempts: int = 3
    base_seconds: float = 5.0
    cap_seconds: float = 300.0
    fixed_delays: Sequence[float] = ()  # explicit delays (plus jitter) instead of exponential backoff

    def delay(self, failed_attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after attempt number `failed_attempt` (1-based) failed."""
        rng = rng or random
        if self.fixed_delays:
            index = min(failed_attempt - 1, len(self.fixed_delays) - 1)
            base = self.fixed_delays[index]
            return base + rng.uniform(0, base * 0.2)
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** (failed_attempt - 1)))
        return rng.uniform(0, ceiling)  # full jitter

    def scaled(self, base_seconds: Optional[float]) -> "RetryPolicy":
        """The same policy with every delay scaled so that its first one is `base_seconds` (tests)."""
        if base_seconds is None:
            return self
        if self.fixed_delays:
            factor = base_seconds / self.fixed_delays[0]
            return RetryPolicy(self.attempts, self.base_seconds, self.cap_seconds,
                               tuple(d * factor for d in self.fixed_delays))
        factor = base_seconds / self.base_seconds
        return RetryPolicy(self.attempts, base_seconds, self.cap_seconds * factor)


@dataclass(frozen=True)
class StepType:
    """One kind of step: the label people read and the sentence its result reads as."""

    name: str
    label: str
    summarize: Callable[[dict], str] = summaries.generic


@dataclass(frozen=True)
class JobType:
    """One kind of job as users and the orchestrator see it."""

    name: str
    label: str
    steps: tuple[str, ...]  # step type names, run in this order
    kind: Optional[str]  # the POST /api/jobs/{kind} route; None when users cannot start it
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_minutes: float = 30.0
    inputs: tuple[JobInput, ...] = (BUDGET_ID,)  # the request body; budgetId names the job's budget
    primary: bool = False  # the Job Center's main start button
    description: str = ""  # one sentence the Job Center shows beside its start button

    @property
    def user_startable(self) -> bool:
        return self.kind is not None

    def input(self, name: str) -> Optional[JobInput]:
        """The input called `name`, if this type takes one."""
        return next((i for i in self.inputs if i.name == name), None)


class UnknownJobType(KeyError):
    """No job type has this name or kind."""


class JobRegistry:
    """Looks job types up by name or by the kind used in URLs."""

    def __init__(self, types: Sequence[JobType]) -> None:
        self._by_name = {t.name: t for t in types}
        self._by_kind = {t.kind: t for t in types if t.kind}

    def get(self, name: str) -> JobType:
        """The job type called `name`."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownJobType(name) from None

    def by_kind(self, kind: str) -> JobType:
        """The job type started by POST /api/jobs/{kind}."""
        try:
            return self._by_kind[kind]
        except KeyError:
            raise UnknownJobType(kind) from None

    def all(self) -> list[JobType]:
        """Every job type in registration order."""
        return list(self._by_name.values())

    def names(self) -> list[str]:
        """Every job type name."""
        return list(self._by_name)

    def register(self, job_type: JobType) -> None:
        """Add a job type (the benchmark adds a no-op one)."""
        self._by_name[job_type.name] = job_type
        if job_type.kind:
            self._by_kind[job_type.kind] = job_type

    def with_timeouts(self, minutes: dict[str, float]) -> "JobRegistry":
        """A copy whose time limits are overridden per type name (JOB_TIMEOUT_MINUTES_<TYPE>)."""
        types = []
        for t in self.all():
            override = minutes.get(t.name)
            types.append(replace(t, timeout_minutes=override) if override else t)
        return JobRegistry(types)

    def with_retry_base(self, base_seconds: Optional[float]) -> "JobRegistry":
        """A copy whose retry delays start at `base_seconds` (RETRY_BASE_SECONDS, for tests)."""
        if base_seconds is None:
            return self
        return JobRegistry([replace(t, retry=t.retry.scaled(base_seconds)) for t in self.all()])


SCHEDULED_RETRY = RetryPolicy(attempts=4, fixed_delays=(60.0, 300.0, 900.0))
# Jobs that talk to the budget's server (sync, apply, redownload) outlast a restart of it: about 1, 5 and
# 15 minutes with jitter, the scheduled job's schedule. Only transient errors (unreachable, 5xx) retry.
SERVER_RETRY = SCHEDULED_RETRY

STEP_TYPES = (
    StepType("sync", "Sync transactions", summaries.sync),
    StepType("suggestions", "Generate suggestions", summaries.suggestions),
    StepType("apply", "Apply suggestions", summaries.apply),
    StepType("snapshot", "Create snapshot", summaries.snapshot),
    StepType("redownload", "Download the budget again", summaries.redownload),
    StepType("revert", "Undo apply", summaries.revert),
    StepType("backtest", "Check suggestion accuracy", summaries.backtest),
)
_STEPS = {s.name: s for s in STEP_TYPES}


def step_label(step_type: str) -> str:
    """The label of a step type (its name when no declaration has one)."""
    step = _STEPS.get(step_type)
    return step.label if step else step_type


def step_summary(step_type: str, result: Optional[dict]) -> Optional[str]:
    """One sentence saying what a finished step did, from its result; None without a result."""
    if not isinstance(result, dict):
        return None
    step = _STEPS.get(step_type)
    try:
        text = (step.summarize if step else summaries.generic)(result)
    except (KeyError, TypeError, ValueError):  # a result written by an older version of the step
        text = summaries.generic(result)
    return text or None


DEFAULT_TYPES = (
    JobType("budget_sync", "Sync Budget", ("sync",), "budget-sync", retry=SERVER_RETRY),
    JobType("suggestions_generate", "Generate Suggestions", ("suggestions",), "suggestions-generate"),
    JobType("sync_and_suggest", "Sync & Generate Suggestions", ("sync", "suggestions"), "sync-and-suggest",
            inputs=(BUDGET_ID, FULL_RESYNC), primary=True, retry=SERVER_RETRY,
            description="Fetches what changed in the budget and proposes categories for new transactions. "
                        "Full resync downloads the whole budget again instead: slower, for when the copy here "
                        "seems wrong."),
    JobType("suggestions_retry_payee", "Retry Suggestions (Payee Group)", ("suggestions",), "suggestions-retry",
            inputs=(BUDGET_ID, SUGGESTION_ID)),
    JobType("suggestions_apply", "Apply Approved Suggestions", ("apply", "sync"), "suggestions-apply",
            inputs=(BUDGET_ID, SUGGESTION_IDS), retry=SERVER_RETRY),
    JobType("snapshot_create", "Create Snapshot", ("snapshot",), "snapshot-create",
            description="Saves a copy of the budget as it is now; snapshots are listed below and can be downloaded."),
    JobType("snapshot_redownload", "Download Budget Again", ("redownload",), "snapshot-redownload",
            retry=SERVER_RETRY,
            description="Throws away this app's copy of the budget and downloads it afresh from its server; "
                        "suggestions for transactions that changed are dropped."),
    JobType("scheduled_sync_and_suggest", "Scheduled Sync & Generate", ("sync", "suggestions"), None,
            retry=SCHEDULED_RETRY),
    JobType("suggestions_revert", "Undo Apply", ("revert",), "suggestions-revert",
            inputs=(BUDGET_ID, APPLY_JOB_ID),  # issue 12: takes back one apply job's categories and rules
            description="Restores the categories an apply wrote and removes the rules it created; "
                        "anything changed since is left alone."),
    JobType("suggestions_backtest", "Check Suggestion Accuracy", ("backtest",), "suggestions-backtest",
            description="Replays your categorized history: learns from the earliest 70 %, suggests for the rest and "
                        "shows how often it was right, beside the last category used for each payee. "
                        "Changes nothing in the budget."),
)


def default_registry() -> JobRegistry:
    """The product's job types."""
    return JobRegistry(DEFAULT_TYPES)

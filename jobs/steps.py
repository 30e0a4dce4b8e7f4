"""What a step runner receives and returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from budget.connector import Progress


@dataclass(frozen=True)
class StepContext:
    """The job and step a runner works for, with its progress reporter (a checkpoint too)."""

    job_id: str
    budget_id: str
    job_type: str
    step_type: str
    metadata: dict
    progress: Progress
    checkpoint: Callable[[], None]


@dataclass(frozen=True)
class StepOutcome:
    """A step's small JSON result and a one-line summary for the event history."""

    result: dict = field(default_factory=dict)
    summary: str = ""


class StepRunner(Protocol):
    """Runs one step type; raises ConnectorError or ServiceError with a user-safe message on failure."""

    def __call__(self, ctx: StepContext) -> StepOutcome: ...


class StepFailed(Exception):
    """A step cannot complete; `message` is shown to the user."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


StepRunners = dict[str, StepRunner]

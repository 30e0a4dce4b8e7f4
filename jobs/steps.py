"""What a step runner receives and returns."""
from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, TypeVar

from budget.connector import Progress

T = TypeVar("T")
log = logging.getLogger(__name__)


class JobScope:
    """What the steps of one run of a job share (its connector), closed when the run ends."""

    def __init__(self) -> None:
        self._shared: dict[str, Any] = {}
        self._stack = ExitStack()

    def shared(self, key: str, open_: Callable[[], T]) -> T:
        """The object kept under `key`, opened on first use; its close() is called when the run ends."""
        if key not in self._shared:
            obj = open_()
            self._stack.callback(obj.close)
            self._shared[key] = obj
        return self._shared[key]

    def close(self) -> None:
        """Close what the run opened, newest first; a failure to close is logged (the job's outcome stands)."""
        self._shared.clear()
        try:
            self._stack.close()
        except Exception:
            log.warning("closing what a job's steps shared failed", exc_info=True)


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
    scope: Optional[JobScope] = None  # None: nothing is shared between steps


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

"""JobOrchestrator: runs a job's steps in order, stops on failure, cancel, timeout or shutdown."""
from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Optional

import peewee as pw

from budget.connector import ConnectorError
from core.errors import ServiceError
from core.logs import bind_job
from core.redact import redact
from jobs.checkpoint import CancelRequested, Checkpoint, Heartbeat, ShuttingDown, TimedOut
from jobs.registry import step_label
from jobs.service import JobService
from jobs.steps import JobScope, StepContext, StepFailed, StepRunners
from models.jobs import Job, JobStep

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one run_job task: a final status, 'queued' (retry/shutdown) or a skip reason."""

    status: str
    detail: str = ""


def classify(exc: BaseException) -> tuple[str, bool]:
    """A user-safe message for an exception raised by a step, and whether it is transient."""
    if isinstance(exc, (ConnectorError, StepFailed)):
        return exc.message, exc.transient
    if isinstance(exc, ServiceError):
        return exc.message, False
    if isinstance(exc, (pw.OperationalError, sqlite3.OperationalError)) and "locked" in str(exc).lower():
        return "The database was busy", True
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return f"Connection problem: {exc.__class__.__name__}", True
    return f"Unexpected error ({exc.__class__.__name__}); the worker log has details", False


class JobOrchestrator:
    """Claims a job, runs its steps with heartbeats and checkpoints, records every outcome through JobService."""

    def __init__(self, service: JobService, runners: StepRunners, *, worker: str,
                 heartbeat_seconds: float = 2.0, shutting_down: Callable[[], bool] = lambda: False,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_thread_exit: Optional[Callable[[], None]] = None,
                 step_work: Callable[[], AbstractContextManager[Any]] = nullcontext) -> None:
        self.service = service
        self.runners = runners
        self.worker = worker
        self.heartbeat_seconds = heartbeat_seconds
        self.shutting_down = shutting_down
        self.monotonic = monotonic
        self.on_thread_exit = on_thread_exit
        self.step_work = step_work  # around each step's own work: the worker lends its baton (core/baton.py)

    def run(self, job_id: str) -> RunOutcome:
        """Run the job if it is queued, due and its budget is free; otherwise leave it as it is."""
        claim = self.service.claim(job_id, self.worker)
        if not claim.started:
            if claim.not_before is not None:
                self.service.enqueue_when_due(job_id, claim.not_before)
            log.debug("job %s not started: %s", job_id, claim.reason)  # routine: a retry not due, a busy budget
            return RunOutcome("skipped", claim.reason)
        job = claim.job
        bind_job(budget_id=job.budget_id, job_type=job.type)  # on every log line of this run (core.logs)
        job_type = self.service.job_type(job)
        checkpoint = Checkpoint(
            cancel_requested=lambda: self.service.cancel_requested(job_id),
            deadline=self.monotonic() + job_type.timeout_minutes * 60,
            timeout_minutes=job_type.timeout_minutes,
            shutting_down=self.shutting_down,
            monotonic=self.monotonic,
            polled_at=self.monotonic(),
            canceled=bool(job.cancel_requested),  # as the claim read it
        )
        started = self.monotonic()
        with Heartbeat(lambda: self.service.heartbeat(job_id), self.heartbeat_seconds,
                       checkpoint.cancel_flag, on_exit=self.on_thread_exit):
            outcome = self._run_steps(job, claim.step, checkpoint)
        log.info("job %s %s: %s in %.2fs %s", job_id, job.type, outcome.status,
                 self.monotonic() - started, outcome.detail)
        if outcome.status != "succeeded":  # a success came through advance(), which woke the next job itself
            self.service.wake_waiting(job.budget_id)
        return outcome

    def _run_steps(self, job: Job, step: Optional[JobStep], checkpoint: Checkpoint) -> RunOutcome:
        job_id = job.id
        scope = JobScope()
        try:
            while step is not None:
                checkpoint()
                ctx = StepContext(job_id=job_id, budget_id=job.budget_id, job_type=job.type,
                                  step_type=step.step_type, metadata=job.metadata or {},
                                  progress=self._progress(job_id, step.id, checkpoint), checkpoint=checkpoint,
                                  scope=scope)
                runner = self.runners[step.step_type]
                with self.step_work():
                    result = runner(ctx)
                step = self.service.advance(job_id, step.id, result.result, result.summary)
            return RunOutcome("succeeded")
        except CancelRequested:
            self.service.finish_canceled(job_id)
            return RunOutcome("canceled")
        except TimedOut as exc:
            self.service.fail_timed_out(job_id, exc.minutes)
            return RunOutcome("failed", str(exc))
        except ShuttingDown:
            self.service.requeue(job_id, "The worker shut down", refund_attempt=True)
            return RunOutcome("queued", "worker shutting down")
        except Exception as exc:  # every other failure ends in a recorded outcome
            return self._failed(job, step, exc)
        finally:
            scope.close()

    def _failed(self, job: Job, step: Optional[JobStep], exc: Exception) -> RunOutcome:
        message, transient = classify(exc)
        step_id = step.id if step else None
        where = f"step '{step_label(step.step_type)}'" if step else "job"
        if not isinstance(exc, (ConnectorError, StepFailed, ServiceError)):
            log.error("job %s %s raised %s", job.id, where, redact(repr(exc)), exc_info=True)
        delay = self.service.fail_or_retry(job.id, step_id, message, transient=transient)
        if delay is not None:
            return RunOutcome("queued", f"retry in {delay:.1f}s: {message}")
        return RunOutcome("failed", message)

    def _progress(self, job_id: str, step_id: int, checkpoint: Checkpoint) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            self.service.progress(job_id, step_id, done, total)
            checkpoint()

        return report

"""JobService: the only writer of job and step statuses; each change and its event in one transaction."""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

import peewee as pw

from core.clock import Clock, utcnow
from core.errors import Conflict, InvalidTransition, NotFound
from core.redact import redact
from jobs.queries import JobQueries
from jobs.queue import JobQueue
from jobs import statements as sql
from jobs.registry import JobRegistry, JobType, step_label
from models.db import execute, write_transaction
from models.jobs import BudgetLock, IdempotencyKey, Job, JobStep

log = logging.getLogger(__name__)

JOB_TRANSITIONS = {
    "queued": {"running", "failed", "canceled"},
    "running": {"succeeded", "failed", "canceled", "queued"},  # queued: retry or recovery
}
STEP_TRANSITIONS = {
    "pending": {"running", "canceled"},
    "running": {"succeeded", "failed", "canceled", "pending"},  # pending: retry or recovery
}
IDEMPOTENCY_TTL = dt.timedelta(hours=24)


def retry_wait(seconds: float, at: dt.datetime) -> str:
    """'12 s' for a short wait; 'about 5 min, at 12:05 UTC' for a long one (the wait for a restarted server)."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"about {round(seconds / 60)} min, at {at:%H:%M} UTC"


class _Unexpected(Exception):
    """A fast path met a row in another state than the common case: roll back, take the general path."""


def check_job_transition(current: str, target: str) -> None:
    """Raise InvalidTransition unless a job may move from `current` to `target`."""
    if target not in JOB_TRANSITIONS.get(current, ()):
        raise InvalidTransition(f"A {current} job cannot become {target}.")


def check_step_transition(current: str, target: str) -> None:
    """Raise InvalidTransition unless a step may move from `current` to `target`."""
    if target not in STEP_TRANSITIONS.get(current, ()):
        raise InvalidTransition(f"A {current} step cannot become {target}.")


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to start a queued job."""

    started: bool
    job: Optional[Job] = None  # the job as it was started
    step: Optional[JobStep] = None
    blocked_by: Optional[str] = None  # another job of the budget holds its lock
    not_before: Optional[dt.datetime] = None  # a retry is not due yet
    reason: str = ""


@dataclass(frozen=True)
class Created:
    """The job a create call returned and whether it is new."""

    job: Job
    steps: list[JobStep]
    created: bool
    replayed: bool = False  # returned for a repeated Idempotency-Key


class JobService:
    """Creates jobs and moves them and their steps through the state machine."""

    def __init__(self, registry: JobRegistry, queue: JobQueue, *, clock: Clock = utcnow,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 lock_ttl_seconds: float = 30.0) -> None:
        self.registry = registry
        self.queue = queue
        self.clock = clock
        self.new_id = new_id
        self.lock_ttl = dt.timedelta(seconds=lock_ttl_seconds)
        self._read = JobQueries(registry)  # the rows a write returns

    # ----------------------------------------------------------------- creation
    def create(self, type_name: str, budget_id: str, *, trigger: str = "user",
               metadata: Optional[dict] = None, parent_job_id: Optional[str] = None,
               dedup_key: str = "", idempotency: Optional[tuple[str, str]] = None) -> Created:
        """Create a queued job with its pending steps, or return the active twin (deduplicated)."""
        job_type = self.registry.get(type_name)
        if idempotency:
            existing = self._idempotent_job(*idempotency)
            if existing is not None:
                return Created(existing, self._read.steps(existing.id), created=False, replayed=True)
        for _ in range(3):
            inserted = self._insert(job_type, budget_id, trigger, metadata, parent_job_id, dedup_key, idempotency)
            if inserted is not None:
                job, steps = inserted
                log.info("job %s created: %s for budget %s (%s)", job.id, job_type.name, budget_id, trigger)
                self.queue.enqueue(job.id)
                return Created(job, steps, created=True)
            twin = self.active_twin(budget_id, job_type.name, dedup_key)
            if twin is not None:
                return Created(twin, self._read.steps(twin.id), created=False)
            if idempotency:
                existing = self._idempotent_job(*idempotency)
                if existing is not None:
                    return Created(existing, self._read.steps(existing.id), created=False, replayed=True)
            # the twin that blocked the insert finished in between: try again
        raise Conflict("The job could not be created because its twin kept changing; try again.",
                       code="busy")

    def _insert(self, job_type: JobType, budget_id: str, trigger: str, metadata: Optional[dict],
                parent_job_id: Optional[str], dedup_key: str,
                idempotency: Optional[tuple[str, str]]) -> Optional[tuple[Job, list[JobStep]]]:
        """Insert the job, its steps and its first event in one transaction; the job and steps as stored, or
        None when a unique index refused. Hand-written statements (jobs/statements.py): one INSERT ... RETURNING
        for the job, one for all its steps (no read-back), one for the event."""
        now = self.clock()
        job_id = self.new_id()
        try:
            with write_transaction():
                job_row = execute(sql.INSERT_JOB, sql.job_params({
                    "id": job_id, "budget_id": budget_id, "type": job_type.name, "status": "queued",
                    "trigger": trigger, "created_at": now, "updated_at": now, "metadata": metadata or {},
                    "parent_job_id": parent_job_id, "attempt": 0, "max_attempts": job_type.retry.attempts,
                    "enqueued_at": now, "dedup_key": dedup_key, "active": True})).fetchone()
                step_rows = execute(sql.insert_steps_sql(len(job_type.steps)),
                                    [v for i, s in enumerate(job_type.steps) for v in (job_id, s, i)]).fetchall()
                by = "the scheduler" if trigger == "scheduled" else "a user"
                self._event(job_id, None, "queued", f"{job_type.label} queued by {by}", now)
                if idempotency:
                    IdempotencyKey.create(key=idempotency[0], request_hash=idempotency[1],
                                          job_id=job_id, created_at=now)
        except pw.IntegrityError:
            return None
        steps = sorted((sql.step_from_row(r) for r in step_rows), key=lambda step: step.position)
        return sql.job_from_row(job_row), steps

    def active_twin(self, budget_id: str, type_name: str, dedup_key: str = "") -> Optional[Job]:
        """The queued or running job of this type and key for the budget, if any."""
        return (Job.select().where(Job.budget_id == budget_id, Job.type == type_name,
                                   Job.dedup_key == dedup_key, Job.active == True)  # noqa: E712
                .first())

    def _idempotent_job(self, key: str, request_hash: str) -> Optional[Job]:
        row = IdempotencyKey.get_or_none(IdempotencyKey.key == key)
        if row is None:
            return None
        if row.created_at < self.clock() - IDEMPOTENCY_TTL:
            IdempotencyKey.delete().where(IdempotencyKey.key == key).execute()
            return None
        if row.request_hash != request_hash:
            raise Conflict("This Idempotency-Key was used with a different request body.",
                           field="Idempotency-Key", code="idempotency_key_reused")
        return Job.get_or_none(Job.id == row.job_id)

    # ------------------------------------------------------------------ running
    def claim(self, job_id: str, worker: str) -> Claim:
        """Start a queued job and its first pending step, unless its budget is busy or it is not due."""
        check_job_transition("queued", "running")
        check_step_transition("pending", "running")
        try:
            with write_transaction():
                now = self.clock()
                row = execute(sql.CLAIM_JOB, (now, now, now, worker, now, job_id, now)).fetchone()
                if row is None:  # not queued, not due or gone: the general path says which
                    raise _Unexpected
                job = sql.job_from_row(row)
                if execute(sql.TAKE_LOCK, (job.budget_id, job.id, now + self.lock_ttl, now)).fetchone() is None:
                    raise _Unexpected  # another job holds the budget: the general path records the wait
                step = sql.step_from_row(execute(sql.START_NEXT_STEP, (now, job_id)).fetchone())
                events = [(job_id, None, "running", f"Started (attempt {job.attempt} of {job.max_attempts})", now)]
                if step is not None:
                    events.append((job_id, step.id, "running", f"Step '{step_label(step.step_type)}' started", now))
                self._events(events)
            return Claim(True, job=job, step=step)
        except _Unexpected:
            return self._claim_general(job_id, worker)

    def _claim_general(self, job_id: str, worker: str) -> Claim:
        """`claim` for every case: reads the job, reports why it did not start, records a wait for the lock."""
        with write_transaction():
            job = Job.get_or_none(Job.id == job_id)
            if job is None or job.status != "queued":
                return Claim(False, reason=f"job is {job.status if job else 'gone'}")
            now = self.clock()
            if job.next_attempt_at and job.next_attempt_at > now:
                return Claim(False, not_before=job.next_attempt_at, reason="retry not due")
            holder = self._take_lock(job, now)
            if holder != job.id:
                if job.blocked_by != holder:
                    other = Job.get_or_none(Job.id == holder)
                    label = self.registry.get(other.type).label if other else "another job"
                    Job.update(blocked_by=holder, updated_at=now).where(Job.id == job.id).execute()
                    self._event(job.id, None, "queued",
                                f"Waiting for {label} ({holder[:8]}) to finish on this budget", now)
                return Claim(False, blocked_by=holder, reason="budget busy")
            started = max(now, job.created_at)
            attempt = job.attempt + 1
            self._move_job(job, "running", started_at=started, attempt=attempt, heartbeat_at=now,
                           worker=worker, blocked_by=None, next_attempt_at=None, updated_at=now)
            self._event(job.id, None, "running", f"Started (attempt {attempt} of {job.max_attempts})", now)
            step = self._start_next_step(job.id, now)
        return Claim(True, job=job, step=step)

    def _take_lock(self, job: Job, now: dt.datetime) -> str:
        """Take the budget's lock for `job` unless a live one is held; return the holder's id."""
        BudgetLock.delete().where(BudgetLock.budget_id == job.budget_id,
                                  BudgetLock.expires_at < now).execute()
        (BudgetLock.insert(budget_id=job.budget_id, job_id=job.id, expires_at=now + self.lock_ttl)
         .on_conflict_ignore().execute())
        lock = BudgetLock.get(BudgetLock.budget_id == job.budget_id)
        return lock.job_id

    def _release_lock(self, job: Job) -> None:
        BudgetLock.delete().where(BudgetLock.budget_id == job.budget_id,
                                  BudgetLock.job_id == job.id).execute()

    def _start_next_step(self, job_id: str, now: dt.datetime) -> Optional[JobStep]:
        step = (JobStep.select().where(JobStep.job == job_id, JobStep.status == "pending")
                .order_by(JobStep.position).first())
        if step is None:
            return None
        self._move_step(step, "running", started_at=now, completed_at=None, failure_reason=None)
        self._event(job_id, step.id, "running", f"Step '{step_label(step.step_type)}' started", now)
        return step

    def advance(self, job_id: str, step_id: int, result: Optional[dict] = None,
                summary: str = "") -> Optional[JobStep]:
        """Mark a running step succeeded and start the next one; finish the job after the last.

        Finishing the job releases its budget's lock and enqueues the job that waits for it, if any.
        """
        check_step_transition("running", "succeeded")
        check_job_transition("running", "succeeded")
        try:
            with write_transaction():
                now = self.clock()
                row = execute(sql.SUCCEED_STEP, (now, now, JobStep.result.db_value(result), step_id, job_id)).fetchone()
                if row is None:  # no such step, or not running: the general path raises the right error
                    raise _Unexpected
                text = f"Step '{step_label(row[0])}' succeeded" + (f": {summary}" if summary else "")
                events = [(job_id, step_id, "succeeded", text, now)]
                waiting = None
                following = sql.step_from_row(execute(sql.START_NEXT_STEP, (now, job_id)).fetchone())
                if following is not None:
                    execute(sql.TOUCH_JOB, (now, job_id))
                    events.append((job_id, following.id, "running",
                                   f"Step '{step_label(following.step_type)}' started", now))
                else:
                    finished = execute(sql.SUCCEED_JOB, (now, now, now, job_id)).fetchone()
                    if finished is None:
                        raise _Unexpected
                    released = execute(sql.RELEASE_LOCK, (finished[0], job_id, finished[0])).fetchone()
                    waiting = released[0] if released else None
                    events.append((job_id, None, "succeeded", "Succeeded", now))
                self._events(events)
        except _Unexpected:
            return self._advance_general(job_id, step_id, result, summary)
        if following is None and waiting:
            self.queue.enqueue(waiting)
        return following

    def _advance_general(self, job_id: str, step_id: int, result: Optional[dict], summary: str) -> Optional[JobStep]:
        following = self._advance_in_transaction(job_id, step_id, result, summary)
        if following is None:
            self.wake_waiting(self._read.get(job_id).budget_id)
        return following

    def _advance_in_transaction(self, job_id: str, step_id: int, result: Optional[dict],
                                summary: str) -> Optional[JobStep]:
        with write_transaction():
            now = self.clock()
            step = self._running_step(job_id, step_id)
            self._move_step(step, "succeeded", completed_at=max(now, step.started_at), result=result)
            text = f"Step '{step_label(step.step_type)}' succeeded" + (f": {summary}" if summary else "")
            self._event(job_id, step.id, "succeeded", text, now)
            following = self._start_next_step(job_id, now)
            job = Job.get_by_id(job_id)
            if following is None:
                self._finish(job, "succeeded", now, "Succeeded")
            else:
                Job.update(updated_at=now).where(Job.id == job_id).execute()
        return following

    def fail(self, job_id: str, step_id: Optional[int], reason: str) -> None:
        """Fail the job with a user-safe reason; the failed step's successors become canceled."""
        reason = redact(reason)
        with write_transaction():
            now = self.clock()
            job = Job.get_by_id(job_id)
            failed_label = None
            if step_id is not None:
                step = self._running_step(job_id, step_id)
                failed_label = step_label(step.step_type)
                self._move_step(step, "failed", completed_at=max(now, step.started_at), failure_reason=reason)
                self._event(job_id, step.id, "failed", f"Step '{failed_label}' failed: {reason}", now)
            why = f"Canceled because step '{failed_label}' failed" if failed_label else "Canceled because the job failed"
            self._cancel_open_steps(job_id, why, now)
            self._finish(job, "failed", now, f"Failed: {reason}", failure_reason=reason)
        log.info("job %s failed: %s", job_id, reason)

    def enqueue_when_due(self, job_id: str, due: dt.datetime) -> None:
        """Put the job's task on the queue for `due` (at once when that has passed)."""
        self.queue.enqueue(job_id, max((due - self.clock()).total_seconds(), 0.0))

    def fail_or_retry(self, job_id: str, step_id: Optional[int], reason: str, *, transient: bool) -> Optional[float]:
        """Retry a transient failure later while attempts are left and return the delay; otherwise fail the job."""
        job = self._read.get(job_id)
        if transient and job.attempt < job.max_attempts:
            delay = self.job_type(job).retry.delay(job.attempt)
            self.retry_later(job_id, step_id, reason, delay)
            return delay
        self.fail(job_id, step_id, reason)
        return None

    def retry_later(self, job_id: str, step_id: Optional[int], reason: str, delay_seconds: float) -> dt.datetime:
        """Put a running job back to queued for its next attempt after `delay_seconds`."""
        reason = redact(reason)
        with write_transaction():
            now = self.clock()
            job = Job.get_by_id(job_id)
            at = now + dt.timedelta(seconds=delay_seconds)
            if step_id is not None:
                step = self._running_step(job_id, step_id)
                self._move_step(step, "pending", started_at=None, progress_done=0)
            self._move_job(job, "queued", next_attempt_at=at, heartbeat_at=None, worker=None,
                           enqueued_at=now, updated_at=now)
            self._release_lock(job)
            self._event(job_id, step_id, "queued",
                        f"Attempt {job.attempt} of {job.max_attempts} failed: {reason}. "
                        f"Retrying in {retry_wait(delay_seconds, at)}", now)
        self.queue.enqueue(job_id, delay_seconds)
        return at

    def requeue(self, job_id: str, message: str, *, refund_attempt: bool = False) -> Optional[str]:
        """Send a running job back to queued (shutdown, lost worker), or fail it when no attempt is left.

        Returns the job's new status, or None when it was not running. A queued job is enqueued again.
        """
        status = self._requeue(job_id, message, refund_attempt)
        if status == "queued":
            self.queue.enqueue(job_id)
        return status

    def _requeue(self, job_id: str, message: str, refund_attempt: bool) -> Optional[str]:
        with write_transaction():
            now = self.clock()
            job = Job.get_or_none(Job.id == job_id)
            if job is None or job.status != "running":
                return None
            if not refund_attempt and job.attempt >= job.max_attempts:
                reason = "Interrupted: the worker stopped while this job was running"
                self._fail_running_steps(job_id, reason, now)
                self._cancel_open_steps(job_id, "Canceled because the job was interrupted", now)
                self._finish(job, "failed", now, f"Failed: {reason}", failure_reason=reason)
                return "failed"
            for step in JobStep.select().where(JobStep.job == job_id, JobStep.status == "running"):
                self._move_step(step, "pending", started_at=None, progress_done=0)
            attempt = job.attempt - 1 if refund_attempt else job.attempt
            self._move_job(job, "queued", heartbeat_at=None, worker=None, enqueued_at=now, updated_at=now,
                           attempt=attempt)
            self._release_lock(job)
            self._event(job_id, None, "queued", f"{message}; queued again for attempt {attempt + 1}", now)
        return "queued"

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once, or ask a running one to stop at its next checkpoint."""
        with write_transaction():
            now = self.clock()
            job = self._read.get(job_id)
            if job.status == "queued":
                self._cancel_open_steps(job_id, "Canceled before it started", now)
                self._finish(job, "canceled", now, "Canceled by a user")
            elif job.status == "running":
                if not job.cancel_requested:
                    Job.update(cancel_requested=True, updated_at=now).where(Job.id == job_id).execute()
                    self._event(job_id, None, "running", "Cancel requested; stopping at the next checkpoint", now)
            else:
                raise InvalidTransition(f"The job already {job.status}; only queued or running jobs can be canceled.")
        return self._read.get(job_id)

    def finish_canceled(self, job_id: str, message: str = "Canceled by a user") -> None:
        """End a running job as canceled: its running step and all later steps become canceled."""
        with write_transaction():
            now = self.clock()
            job = Job.get_by_id(job_id)
            self._cancel_open_steps(job_id, message, now)
            self._finish(job, "canceled", now, message)

    def fail_timed_out(self, job_id: str, minutes: float) -> None:
        """Fail a running job that passed its time limit."""
        reason = f"Timed out after {minutes:g} minutes"
        with write_transaction():
            now = self.clock()
            job = Job.get_by_id(job_id)
            self._fail_running_steps(job_id, reason, now)
            self._cancel_open_steps(job_id, "Canceled because the job timed out", now)
            self._finish(job, "failed", now, f"Failed: {reason}", failure_reason=reason)

    def progress(self, job_id: str, step_id: int, done: int, total: Optional[int]) -> None:
        """Record a running step's progress."""
        now = self.clock()
        with write_transaction():
            JobStep.update(progress_done=done, progress_total=total).where(
                JobStep.id == step_id, JobStep.status == "running").execute()
            Job.update(updated_at=now).where(Job.id == job_id).execute()

    def heartbeat(self, job_id: str) -> bool:
        """Refresh a running job's heartbeat and budget lock; return whether cancel was requested."""
        now = self.clock()
        with write_transaction():
            row = execute(sql.HEARTBEAT, (now, job_id)).fetchone()
            execute(sql.REFRESH_LOCK, (now + self.lock_ttl, job_id))
        return bool(row[0]) if row is not None else self.cancel_requested(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        """Whether a user asked this job to stop."""
        row = execute(sql.CANCEL_REQUESTED, (job_id,)).fetchone()
        return bool(row and row[0])

    # ------------------------------------------------------------------ helpers
    def _finish(self, job: Job, status: str, now: dt.datetime, message: str, failure_reason: Optional[str] = None) -> None:
        completed = max(now, job.started_at or job.created_at)
        fields: dict[str, Any] = dict(completed_at=completed, updated_at=now, active=None,
                                      heartbeat_at=None, next_attempt_at=None, blocked_by=None)
        if job.status == "queued" and status != "canceled":
            fields["started_at"] = job.started_at or completed
        if failure_reason is not None:
            fields["failure_reason"] = failure_reason
        self._move_job(job, status, **fields)
        self._release_lock(job)
        self._event(job.id, None, status, message, now)

    def _cancel_open_steps(self, job_id: str, message: str, now: dt.datetime) -> None:
        for step in (JobStep.select().where(JobStep.job == job_id, JobStep.status.in_(("pending", "running")))
                     .order_by(JobStep.position)):
            fields = {"completed_at": max(now, step.started_at) if step.started_at else None,
                      "failure_reason": message}
            self._move_step(step, "canceled", **fields)
            self._event(job_id, step.id, "canceled", f"Step '{step_label(step.step_type)}' canceled: {message}", now)

    def _fail_running_steps(self, job_id: str, reason: str, now: dt.datetime) -> None:
        for step in JobStep.select().where(JobStep.job == job_id, JobStep.status == "running"):
            self._move_step(step, "failed", completed_at=max(now, step.started_at), failure_reason=reason)
            self._event(job_id, step.id, "failed", f"Step '{step_label(step.step_type)}' failed: {reason}", now)

    def _running_step(self, job_id: str, step_id: int) -> JobStep:
        step = JobStep.get_or_none(JobStep.id == step_id, JobStep.job == job_id)
        if step is None:
            raise NotFound(f"Step {step_id} of job {job_id} not found.")
        return step

    def _move_job(self, job: Job, target: str, **fields: Any) -> None:
        check_job_transition(job.status, target)
        updated = Job.update(status=target, **fields).where(Job.id == job.id, Job.status == job.status).execute()
        if updated != 1:
            raise InvalidTransition(f"Job {job.id} changed status concurrently.")
        job.status = target
        for key, value in fields.items():
            setattr(job, key, value)

    def _move_step(self, step: JobStep, target: str, **fields: Any) -> None:
        check_step_transition(step.status, target)
        updated = (JobStep.update(status=target, **fields)
                   .where(JobStep.id == step.id, JobStep.status == step.status).execute())
        if updated != 1:
            raise InvalidTransition(f"Step {step.id} changed status concurrently.")
        step.status = target
        for key, value in fields.items():
            setattr(step, key, value)

    def _event(self, job_id: str, step_id: Optional[int], status: str, message: str, now: dt.datetime) -> None:
        self._events([(job_id, step_id, status, message, now)])

    def _events(self, events: list[tuple]) -> None:
        """Insert (job_id, step_id, status, message, created_at) events in one statement, messages redacted."""
        sql.insert_events([(job_id, step_id, status, redact(message), at) for job_id, step_id, status, message, at in events])

    # ------------------------------------------------------------------ recovery
    def mark_reenqueued(self, job_id: str, seen_enqueued_at: Optional[dt.datetime]) -> bool:
        """Record a reconciler re-enqueue exactly once (conditional on the enqueue time it saw)."""
        with write_transaction():
            now = self.clock()
            updated = (Job.update(enqueued_at=now, updated_at=now)
                       .where(Job.id == job_id, Job.status == "queued", Job.enqueued_at == seen_enqueued_at).execute())
            if updated:
                self._event(job_id, None, "queued", "Its task was lost; enqueued again", now)
        if updated:
            self.queue.enqueue(job_id)
        return bool(updated)

    def reenqueue_lost(self, candidates: list[tuple[str, Optional[dt.datetime]]]) -> list[str]:
        """Enqueue again each (job id, enqueue time seen) whose task the queue does not hold; return those ids."""
        held = self.queue.held_job_ids()
        return [job_id for job_id, seen in candidates if job_id not in held and self.mark_reenqueued(job_id, seen)]

    def wake_waiting(self, budget_id: str) -> Optional[str]:
        """Enqueue the oldest job of the budget that waits for the budget's lock."""
        job_id = self.waiting_job(budget_id)
        if job_id:
            self.queue.enqueue(job_id)
        return job_id

    def waiting_job(self, budget_id: str) -> Optional[str]:
        """The oldest job of the budget that waits for the budget's lock."""
        row = execute(sql.WAITING_JOB, (budget_id,)).fetchone()
        return row[0] if row else None

    def job_type(self, job: Job) -> JobType:
        """The registry entry of a job."""
        return self.registry.get(job.type)


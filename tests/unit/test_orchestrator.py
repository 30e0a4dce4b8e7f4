"""JobOrchestrator: steps in order, stop on failure, retries, cancel, timeout, unexpected errors."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest

from budget.connector import ConnectorError
from jobs.orchestrator import JobOrchestrator
from jobs.registry import JobRegistry, JobType, default_registry
from jobs.service import JobService
from jobs.steps import StepOutcome
from models.jobs import Job, JobEvent, JobStep
from tests.support.clock import Clock

T0 = dt.datetime(2026, 2, 1, 12, 0, 0)


class Ticking:
    """A monotonic clock that moves `step` seconds on every reading (no sleeping in tests)."""

    def __init__(self, step: float) -> None:
        self.t = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def steps_of(job_id):
    return list(JobStep.select().where(JobStep.job == job_id).order_by(JobStep.position))


def messages(job_id):
    return [e.message for e in JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id)]


def make(services, runners=None, *, registry=None, clock=None, monotonic=None):
    """A JobService + JobOrchestrator pair over the real step runners unless `runners` replaces some."""
    svc = JobService(registry or services.registry, services.jobs.queue, **({"clock": clock} if clock else {}))
    all_runners = dict(services.steps.runners())
    all_runners.update(runners or {})
    extra = {"monotonic": monotonic} if monotonic else {}
    return svc, JobOrchestrator(svc, all_runners, worker="test:1", heartbeat_seconds=0.2, **extra)


# a sync job type with the plain retry policy (three attempts, exponential backoff from 5 s with full jitter)
QUICK_RETRY = JobRegistry([JobType("budget_sync", "Sync Budget", ("sync",), "budget-sync")])


@pytest.fixture()
def failing_budget(services, faults):
    budget = services.budgets.create_demo("Broken bank")
    faults(budget.id, fail_on={"pull_latest": "Bank feed down"})
    return budget


# ------------------------------------------------------------------ success
def test_a_job_runs_its_steps_in_order_to_succeeded(services, orchestrator):
    first = services.jobs.create("budget_sync", "demo").job.id
    assert orchestrator.run(first).status == "succeeded"  # the first sync copies the whole budget
    job_id = services.jobs.create("sync_and_suggest", "demo").job.id
    outcome = orchestrator.run(job_id)
    assert outcome.status == "succeeded"
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempt, job.failure_reason) == ("succeeded", 1, None)
    sync_step, suggest_step = steps_of(job_id)
    assert (sync_step.status, suggest_step.status) == ("succeeded", "succeeded")
    assert 10 <= sync_step.result["new"] <= 40 and sync_step.result["full"] is False
    assert suggest_step.result["considered"] >= sync_step.result["new"]
    assert suggest_step.result["suggested"] + suggest_step.result["skipped"] == suggest_step.result["considered"]
    assert sync_step.completed_at <= suggest_step.started_at
    assert job.started_at <= sync_step.started_at and suggest_step.completed_at <= job.completed_at
    assert messages(job_id)[-1] == "Succeeded"
    assert any(m.startswith("Step 'Sync transactions' succeeded: ") and "new transaction" in m for m in messages(job_id))


def test_steps_run_in_position_order(services):
    order = []

    def recorder(name):
        def run(ctx):
            order.append((name, ctx.step_type, ctx.job_type))
            return StepOutcome({"ran": name})
        return run

    svc, orch = make(services, {"apply": recorder("apply"), "sync": recorder("sync")})
    job_id = svc.create("suggestions_apply", "demo", metadata={"suggestionIds": []}).job.id
    assert orch.run(job_id).status == "succeeded"
    assert order == [("apply", "apply", "suggestions_apply"), ("sync", "sync", "suggestions_apply")]
    assert [s.result for s in steps_of(job_id)] == [{"ran": "apply"}, {"ran": "sync"}]


class Opened:
    """Something a step opens; counts its closes."""

    def __init__(self, log: list) -> None:
        self.log = log
        log.append("opened")

    def close(self) -> None:
        self.log.append("closed")


def sharing(log: list, seen: list, fail_on: str = ""):
    """Step runners that take one shared object from the job's scope (and may fail on a step type)."""
    def run(ctx):
        seen.append(ctx.scope.shared("connector", lambda: Opened(log)))
        log.append(ctx.step_type)
        if ctx.step_type == fail_on:
            raise ConnectorError("Bank feed down")
        return StepOutcome({})
    return run


def test_the_steps_of_a_job_share_one_connector_closed_when_the_run_ends(services):
    log, seen = [], []
    svc, orch = make(services, {"sync": sharing(log, seen), "suggestions": sharing(log, seen)})
    job_id = svc.create("sync_and_suggest", "demo").job.id
    assert orch.run(job_id).status == "succeeded"
    assert seen[0] is seen[1]  # what the sync read, the suggestions step reuses
    assert log == ["opened", "sync", "suggestions", "closed"]


def test_a_failed_step_still_closes_what_the_job_opened(services):
    log, seen = [], []
    svc, orch = make(services, {"sync": sharing(log, seen, fail_on="sync"), "suggestions": sharing(log, seen)})
    job_id = svc.create("sync_and_suggest", "demo").job.id
    assert orch.run(job_id).status == "failed"
    assert log == ["opened", "sync", "closed"]


def test_only_each_steps_own_work_runs_inside_step_work(services):
    log = []

    @contextmanager
    def step_work():
        log.append("lend")
        yield
        log.append("take back")

    def run(ctx):
        log.append(ctx.step_type)
        return StepOutcome({})

    svc = JobService(services.registry, services.jobs.queue)
    orch = JobOrchestrator(svc, {"sync": run, "suggestions": run}, worker="test:1", heartbeat_seconds=0.2,
                           step_work=step_work)
    job_id = svc.create("sync_and_suggest", "demo").job.id
    assert orch.run(job_id).status == "succeeded"
    assert log == ["lend", "sync", "take back", "lend", "suggestions", "take back"]


def test_progress_is_recorded_on_the_step(services, orchestrator):
    job_id = services.jobs.create("sync_and_suggest", "demo").job.id
    orchestrator.run(job_id)
    sync_step, suggest_step = steps_of(job_id)
    for step in (sync_step, suggest_step):
        assert step.progress_total is not None and step.progress_total > 0
        assert step.progress_done == step.progress_total


def test_progress_reports_arrive_at_least_every_100_items(services):
    seen = []

    def counting(ctx):
        for done in range(0, 251, 50):
            ctx.progress(done, 250)
            seen.append(JobStep.get(JobStep.job == ctx.job_id).progress_done)
        return StepOutcome({"items": 250})

    svc, orch = make(services, {"sync": counting})
    job_id = svc.create("budget_sync", "demo").job.id
    orch.run(job_id)
    assert seen == [0, 50, 100, 150, 200, 250]
    (step,) = steps_of(job_id)
    assert (step.progress_done, step.progress_total) == (250, 250)


def test_a_job_not_queued_is_left_alone(services, orchestrator):
    job_id = services.jobs.create("budget_sync", "demo").job.id
    services.jobs.cancel(job_id)
    outcome = orchestrator.run(job_id)
    assert outcome.status == "skipped"
    assert Job.get_by_id(job_id).status == "canceled"


# ------------------------------------------------------------------ failure
def test_a_failing_first_step_fails_the_job_and_cancels_later_steps(services, orchestrator, failing_budget):
    job_id = services.jobs.create("sync_and_suggest", failing_budget.id).job.id
    outcome = orchestrator.run(job_id)
    assert outcome.status == "failed"
    job = Job.get_by_id(job_id)
    assert (job.status, job.failure_reason, job.attempt) == ("failed", "Bank feed down", 1)
    sync_step, suggest_step = steps_of(job_id)
    assert (sync_step.status, sync_step.failure_reason) == ("failed", "Bank feed down")
    assert suggest_step.status == "canceled"
    assert suggest_step.failure_reason == "Canceled because step 'Sync transactions' failed"
    assert suggest_step.started_at is None
    assert "Step 'Sync transactions' failed: Bank feed down" in messages(job_id)
    assert "Step 'Generate suggestions' started" not in messages(job_id)
    assert messages(job_id)[-1] == "Failed: Bank feed down"


def test_a_permanent_connector_error_is_not_retried(services, failing_budget):
    svc, orch = make(services)
    queue = svc.queue
    job_id = svc.create("budget_sync", failing_budget.id).job.id
    queue.enqueued.clear()
    orch.run(job_id)
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempt, job.next_attempt_at) == ("failed", 1, None)
    assert job_id not in {j for j, _ in queue.enqueued}


def test_a_transient_connector_error_is_retried_with_backoff(services):
    clock = Clock(T0)
    calls = []

    def flaky(ctx):
        calls.append(ctx.job_id)
        if len(calls) == 1:
            raise ConnectorError("The Actual server is busy", transient=True)
        return StepOutcome({"new": 0})

    svc, orch = make(services, {"sync": flaky}, clock=clock, registry=QUICK_RETRY)
    queue = svc.queue
    job_id = svc.create("budget_sync", "demo").job.id
    queue.enqueued.clear()
    outcome = orch.run(job_id)
    assert outcome.status == "queued"
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempt) == ("queued", 1)
    assert job.next_attempt_at is not None and T0 <= job.next_attempt_at <= T0 + dt.timedelta(seconds=5)
    ((enqueued_id, delay),) = queue.enqueued
    assert enqueued_id == job_id and 0 <= delay <= 5
    assert job.next_attempt_at == T0 + dt.timedelta(seconds=delay)
    assert messages(job_id)[-1] == (f"Attempt 1 of 3 failed: The Actual server is busy. "
                                    f"Retrying in {delay:.0f} s")
    assert steps_of(job_id)[0].status == "pending"

    clock.now = job.next_attempt_at
    assert orch.run(job_id).status == "succeeded"
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempt, job.next_attempt_at) == ("succeeded", 2, None)


def test_a_transient_error_fails_the_job_once_attempts_run_out(services):
    clock = Clock(T0)

    def always_busy(ctx):
        raise ConnectorError("The Actual server is busy", transient=True)

    svc, orch = make(services, {"sync": always_busy}, clock=clock, registry=QUICK_RETRY)
    job_id = svc.create("budget_sync", "demo").job.id
    statuses = []
    for _ in range(3):
        statuses.append(orch.run(job_id).status)
        clock.advance(minutes=10)
    assert statuses == ["queued", "queued", "failed"]
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempt, job.failure_reason) == ("failed", 3, "The Actual server is busy")


def test_a_retry_that_is_not_due_is_put_back_with_the_remaining_delay(services):
    clock = Clock(T0)

    def busy(ctx):
        raise ConnectorError("busy", transient=True)

    svc, orch = make(services, {"sync": busy}, clock=clock)
    job_id = svc.create("budget_sync", "demo").job.id
    orch.run(job_id)
    due = Job.get_by_id(job_id).next_attempt_at
    svc.queue.enqueued.clear()
    clock.now = due - dt.timedelta(seconds=1)
    assert orch.run(job_id).status == "skipped"
    assert svc.queue.enqueued == [(job_id, 1.0)]


def test_an_unexpected_exception_fails_with_a_user_safe_reason(services):
    def broken(ctx):
        raise KeyError("Traceback (most recent call last): /srv/app/secret.py line 3")

    svc, orch = make(services, {"sync": broken})
    job_id = svc.create("sync_and_suggest", "demo").job.id
    assert orch.run(job_id).status == "failed"
    job = Job.get_by_id(job_id)
    assert job.status == "failed"
    assert job.failure_reason == "Unexpected error (KeyError); the worker log has details"
    for text in [job.failure_reason] + messages(job_id):
        assert "Traceback" not in text and "secret.py" not in text
    assert [s.status for s in steps_of(job_id)] == ["failed", "canceled"]
    assert job.attempt == 1 and job.next_attempt_at is None


# ------------------------------------------------------------------ cancel and timeout
def test_cancel_requested_while_running_ends_canceled(services):
    reached = []

    def slow(ctx):
        svc.cancel(ctx.job_id)
        for done in range(0, 1000, 10):
            ctx.progress(done, 1000)
            reached.append(done)
        return StepOutcome({"finished": True})

    svc, orch = make(services, {"sync": slow}, monotonic=Ticking(0.6))
    job_id = svc.create("sync_and_suggest", "demo").job.id
    assert orch.run(job_id).status == "canceled"
    assert len(reached) < 100  # stopped at a checkpoint, not at the end
    job = Job.get_by_id(job_id)
    assert (job.status, job.cancel_requested, job.failure_reason) == ("canceled", True, None)
    assert job.completed_at is not None
    sync_step, suggest_step = steps_of(job_id)
    assert (sync_step.status, sync_step.result) == ("canceled", None)
    assert sync_step.completed_at is not None
    assert suggest_step.status == "canceled" and suggest_step.started_at is None
    assert messages(job_id)[-1] == "Canceled by a user"


def test_a_cancel_between_steps_stops_before_the_next_step(services):
    ran = []

    def sync(ctx):
        ran.append("sync")
        svc.cancel(ctx.job_id)
        return StepOutcome({"new": 0})

    def suggest(ctx):
        ran.append("suggestions")
        return StepOutcome({})

    svc, orch = make(services, {"sync": sync, "suggestions": suggest}, monotonic=Ticking(0.6))
    job_id = svc.create("sync_and_suggest", "demo").job.id
    assert orch.run(job_id).status == "canceled"
    assert ran == ["sync"]
    assert [s.status for s in steps_of(job_id)] == ["succeeded", "canceled"]


def test_a_job_past_its_time_limit_fails_as_timed_out(services):
    def endless(ctx):
        for done in range(10_000):
            ctx.progress(done, 10_000)
        return StepOutcome({})

    registry = default_registry().with_timeouts({"sync_and_suggest": 0.5})
    svc, orch = make(services, {"sync": endless}, registry=registry, monotonic=Ticking(1.0))
    job_id = svc.create("sync_and_suggest", "demo").job.id
    assert orch.run(job_id).status == "failed"
    job = Job.get_by_id(job_id)
    assert (job.status, job.failure_reason) == ("failed", "Timed out after 0.5 minutes")
    sync_step, suggest_step = steps_of(job_id)
    assert (sync_step.status, sync_step.failure_reason) == ("failed", "Timed out after 0.5 minutes")
    assert suggest_step.status == "canceled" and suggest_step.started_at is None
    assert sync_step.progress_done < 10_000


def test_a_shutdown_requeues_without_using_an_attempt(services):
    def long(ctx):
        for done in range(100):
            ctx.progress(done, 100)
        return StepOutcome({})

    svc = JobService(services.registry, services.jobs.queue)
    runners = dict(services.steps.runners(), sync=long)
    stopping = iter([False] + [True] * 1000)
    orch = JobOrchestrator(svc, runners, worker="w", heartbeat_seconds=0.2, shutting_down=lambda: next(stopping))
    job_id = svc.create("budget_sync", "demo").job.id
    assert orch.run(job_id).status == "queued"
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempt) == ("queued", 0)
    assert steps_of(job_id)[0].status == "pending"

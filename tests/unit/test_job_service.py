"""JobService: the state machine of jobs and steps, and everything it writes with each transition."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace

import pytest

from core.errors import InvalidTransition
from jobs.registry import JobRegistry, RetryPolicy, default_registry
from jobs.service import (
    JOB_TRANSITIONS,
    STEP_TRANSITIONS,
    JobService,
    check_job_transition,
    check_step_transition,
)
from models.jobs import JOB_STATUSES, STEP_STATUSES, Job, JobEvent, JobStep
from tests.support.clock import Clock

ALLOWED_JOB = {
    ("queued", "running"), ("queued", "failed"), ("queued", "canceled"),
    ("running", "succeeded"), ("running", "failed"), ("running", "canceled"), ("running", "queued"),
}
ALLOWED_STEP = {
    ("pending", "running"), ("pending", "canceled"),
    ("running", "succeeded"), ("running", "failed"), ("running", "canceled"), ("running", "pending"),
}
JOB_PAIRS = list(itertools.product(JOB_STATUSES, JOB_STATUSES))
STEP_PAIRS = list(itertools.product(STEP_STATUSES, STEP_STATUSES))
T0 = dt.datetime(2026, 1, 5, 9, 0, 0)


@pytest.fixture()
def clock():
    return Clock(T0)


def three_quick_attempts():
    """The product's job types, every user-started one with the plain policy of three quick attempts.

    These tests pin the state machine, not a type's retry schedule (tests/unit/test_registry.py does).
    """
    return JobRegistry([replace(t, retry=RetryPolicy()) if t.user_startable else t for t in default_registry().all()])


@pytest.fixture()
def svc(db, queue, clock):
    return JobService(three_quick_attempts(), queue, clock=clock)


def events_of(job_id):
    return list(JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id))


def event_count(job_id):
    return JobEvent.select().where(JobEvent.job == job_id).count()


def status_of(job_id):
    return Job.get_by_id(job_id).status


def steps_of(job_id):
    return list(JobStep.select().where(JobStep.job == job_id).order_by(JobStep.position))


# ------------------------------------------------------------------ the transition tables
def test_transition_tables_are_exactly_the_agreed_ones():
    assert {(a, b) for a, targets in JOB_TRANSITIONS.items() for b in targets} == ALLOWED_JOB
    assert {(a, b) for a, targets in STEP_TRANSITIONS.items() for b in targets} == ALLOWED_STEP


@pytest.mark.parametrize("current,target", JOB_PAIRS, ids=[f"{a}->{b}" for a, b in JOB_PAIRS])
def test_job_transition_is_allowed_only_when_in_the_table(current, target):
    if (current, target) in ALLOWED_JOB:
        check_job_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match=f"{current} job cannot become {target}"):
            check_job_transition(current, target)


@pytest.mark.parametrize("current,target", STEP_PAIRS, ids=[f"{a}->{b}" for a, b in STEP_PAIRS])
def test_step_transition_is_allowed_only_when_in_the_table(current, target):
    if (current, target) in ALLOWED_STEP:
        check_step_transition(current, target)
    else:
        with pytest.raises(InvalidTransition, match=f"{current} step cannot become {target}"):
            check_step_transition(current, target)


@pytest.mark.parametrize("current,target", JOB_PAIRS, ids=[f"{a}->{b}" for a, b in JOB_PAIRS])
def test_job_row_moves_only_along_allowed_transitions(svc, current, target):
    job = svc.create("budget_sync", "demo").job
    Job.update(status=current).where(Job.id == job.id).execute()
    job = Job.get_by_id(job.id)
    if (current, target) in ALLOWED_JOB:
        svc._move_job(job, target)
        assert status_of(job.id) == target
    else:
        with pytest.raises(InvalidTransition):
            svc._move_job(job, target)
        assert status_of(job.id) == current


@pytest.mark.parametrize("current,target", STEP_PAIRS, ids=[f"{a}->{b}" for a, b in STEP_PAIRS])
def test_step_row_moves_only_along_allowed_transitions(svc, current, target):
    job = svc.create("budget_sync", "demo").job
    (step,) = steps_of(job.id)
    JobStep.update(status=current).where(JobStep.id == step.id).execute()
    step = JobStep.get_by_id(step.id)
    if (current, target) in ALLOWED_STEP:
        svc._move_step(step, target)
        assert JobStep.get_by_id(step.id).status == target
    else:
        with pytest.raises(InvalidTransition):
            svc._move_step(step, target)
        assert JobStep.get_by_id(step.id).status == current


def test_a_stale_in_memory_job_cannot_overwrite_a_concurrent_change(svc):
    job = svc.create("budget_sync", "demo").job
    stale = Job.get_by_id(job.id)
    svc.cancel(job.id)
    with pytest.raises(InvalidTransition):
        svc._move_job(stale, "running")
    assert status_of(job.id) == "canceled"


# ------------------------------------------------------------------ creation
def test_create_writes_a_queued_job_pending_steps_one_event_and_enqueues(svc, queue):
    created = svc.create("sync_and_suggest", "demo")
    job = Job.get_by_id(created.job.id)
    assert created.created is True
    assert (job.status, job.trigger, job.attempt, job.max_attempts) == ("queued", "user", 0, 3)
    assert [(s.step_type, s.position, s.status) for s in steps_of(job.id)] == [
        ("sync", 0, "pending"), ("suggestions", 1, "pending")]
    (event,) = events_of(job.id)
    assert (event.status, event.message) == ("queued", "Sync & Generate Suggestions queued by a user")
    assert queue.enqueued == [(job.id, 0.0)]


def test_scheduled_trigger_is_recorded_and_named_in_the_event(svc):
    job = svc.create("scheduled_sync_and_suggest", "demo", trigger="scheduled").job
    assert Job.get_by_id(job.id).trigger == "scheduled"
    assert events_of(job.id)[0].message.endswith("queued by the scheduler")


def test_dedup_returns_the_active_job_while_it_is_queued_or_running(svc, queue):
    first = svc.create("budget_sync", "demo")
    again = svc.create("budget_sync", "demo")
    assert again.created is False and again.job.id == first.job.id
    svc.claim(first.job.id, "w")
    while_running = svc.create("budget_sync", "demo")
    assert while_running.created is False and while_running.job.id == first.job.id
    assert Job.select().count() == 1
    assert [j for j, _ in queue.enqueued] == [first.job.id]


def test_dedup_ends_when_the_job_finishes_and_ignores_other_types_and_budgets(svc):
    first = svc.create("budget_sync", "demo").job
    assert svc.create("snapshot_create", "demo").created is True
    assert svc.create("budget_sync", "other-budget").created is True
    svc.cancel(first.id)
    later = svc.create("budget_sync", "demo")
    assert later.created is True and later.job.id != first.id


# ------------------------------------------------------------------ events and timestamps
def test_every_transition_writes_exactly_one_event_with_it(svc, clock):
    job_id = svc.create("sync_and_suggest", "demo").job.id
    assert event_count(job_id) == 1
    claim = svc.claim(job_id, "w")
    assert claim.started and claim.step.step_type == "sync"
    assert (claim.job.id, claim.job.status, claim.job.attempt) == (job_id, "running", 1)
    assert event_count(job_id) == 3  # job running + step running
    following = svc.advance(job_id, claim.step.id, {"new": 3})
    assert following.step_type == "suggestions"
    assert event_count(job_id) == 5  # step succeeded + next step running
    assert svc.advance(job_id, following.id, {"suggested": 1}) is None
    assert event_count(job_id) == 7  # step succeeded + job succeeded
    assert [e.status for e in events_of(job_id)] == [
        "queued", "running", "running", "succeeded", "running", "succeeded", "succeeded"]
    assert status_of(job_id) == "succeeded"
    assert [s.result for s in steps_of(job_id)] == [{"new": 3}, {"suggested": 1}]


def test_a_rejected_transition_writes_no_event(svc):
    job_id = svc.create("budget_sync", "demo").job.id
    svc.cancel(job_id)
    before = event_count(job_id)
    with pytest.raises(InvalidTransition):
        svc.cancel(job_id)
    assert event_count(job_id) == before


def test_a_transition_and_its_event_commit_or_roll_back_together(svc, monkeypatch):
    job_id = svc.create("budget_sync", "demo").job.id
    before = event_count(job_id)

    def broken_event(*args, **kwargs):
        raise RuntimeError("event table unavailable")

    monkeypatch.setattr(svc, "_events", broken_event)
    with pytest.raises(RuntimeError):
        svc.claim(job_id, "w")
    assert status_of(job_id) == "queued"
    assert all(s.status == "pending" for s in steps_of(job_id))
    assert event_count(job_id) == before


def test_timestamps_follow_the_clock_and_never_run_backwards(svc, clock):
    job_id = svc.create("sync_and_suggest", "demo").job.id
    clock.advance(seconds=5)
    step = svc.claim(job_id, "w").step
    clock.advance(seconds=7)
    step = svc.advance(job_id, step.id)
    clock.advance(seconds=11)
    svc.advance(job_id, step.id)
    job = Job.get_by_id(job_id)
    assert job.created_at == T0
    assert job.started_at == T0 + dt.timedelta(seconds=5)
    assert job.completed_at == T0 + dt.timedelta(seconds=23)
    assert job.created_at <= job.started_at <= job.completed_at
    for s in steps_of(job_id):
        assert job.started_at <= s.started_at <= s.completed_at <= job.completed_at


def test_timestamps_stay_ordered_when_the_clock_goes_backwards(svc, clock):
    job_id = svc.create("budget_sync", "demo").job.id
    clock.advance(seconds=-30)  # another host's clock, or NTP stepping back
    step = svc.claim(job_id, "w").step
    clock.advance(seconds=-30)
    svc.advance(job_id, step.id)
    job = Job.get_by_id(job_id)
    assert job.started_at >= job.created_at
    assert job.completed_at >= job.started_at
    (s,) = steps_of(job_id)
    assert s.completed_at >= s.started_at


def test_a_job_failed_before_it_started_still_has_ordered_timestamps(svc, clock):
    job_id = svc.create("budget_sync", "demo").job.id
    clock.advance(seconds=3)
    svc.fail(job_id, None, "Budget removed")
    job = Job.get_by_id(job_id)
    assert (job.status, job.failure_reason) == ("failed", "Budget removed")
    assert job.started_at is not None and job.completed_at is not None
    assert job.created_at <= job.started_at <= job.completed_at
    assert [s.status for s in steps_of(job_id)] == ["canceled"]


# ------------------------------------------------------------------ cancel
def test_cancel_of_a_queued_job_cancels_it_and_every_step(svc):
    job_id = svc.create("sync_and_suggest", "demo").job.id
    job = svc.cancel(job_id)
    assert job.status == "canceled" and job.completed_at is not None
    assert [(s.status, s.failure_reason) for s in steps_of(job_id)] == [
        ("canceled", "Canceled before it started")] * 2
    assert events_of(job_id)[-1].message == "Canceled by a user"
    assert all(s.started_at is None for s in steps_of(job_id))


def test_cancel_of_a_running_job_only_requests_it(svc):
    job_id = svc.create("budget_sync", "demo").job.id
    svc.claim(job_id, "w")
    job = svc.cancel(job_id)
    assert job.status == "running" and job.cancel_requested is True
    assert svc.cancel_requested(job_id) is True
    assert svc.heartbeat(job_id) is True
    assert events_of(job_id)[-1].message == "Cancel requested; stopping at the next checkpoint"
    count = event_count(job_id)
    svc.cancel(job_id)  # asking twice adds nothing
    assert event_count(job_id) == count


@pytest.mark.parametrize("finish", ["succeeded", "failed", "canceled"])
def test_cancel_of_a_finished_job_is_an_invalid_transition(svc, finish):
    job_id = svc.create("budget_sync", "demo").job.id
    if finish == "canceled":
        svc.cancel(job_id)
    else:
        step = svc.claim(job_id, "w").step
        if finish == "succeeded":
            svc.advance(job_id, step.id)
        else:
            svc.fail(job_id, step.id, "Bank feed down")
    with pytest.raises(InvalidTransition, match=f"already {finish}"):
        svc.cancel(job_id)
    assert status_of(job_id) == finish


def test_finish_canceled_cancels_the_running_and_later_steps(svc):
    job_id = svc.create("sync_and_suggest", "demo").job.id
    svc.claim(job_id, "w")
    svc.cancel(job_id)
    svc.finish_canceled(job_id)
    assert status_of(job_id) == "canceled"
    assert [s.status for s in steps_of(job_id)] == ["canceled", "canceled"]


# ------------------------------------------------------------------ failure
def test_fail_marks_the_step_failed_and_cancels_later_steps_naming_it(svc):
    job_id = svc.create("suggestions_apply", "demo").job.id
    step = svc.claim(job_id, "w").step
    svc.fail(job_id, step.id, "Bank feed down")
    job = Job.get_by_id(job_id)
    assert (job.status, job.failure_reason) == ("failed", "Bank feed down")
    apply_step, sync_step = steps_of(job_id)
    assert (apply_step.status, apply_step.failure_reason) == ("failed", "Bank feed down")
    assert sync_step.status == "canceled"
    assert sync_step.failure_reason == "Canceled because step 'Apply suggestions' failed"
    assert sync_step.started_at is None and sync_step.completed_at is None


def test_fail_timed_out_names_the_limit(svc):
    job_id = svc.create("budget_sync", "demo").job.id
    svc.claim(job_id, "w")
    svc.fail_timed_out(job_id, 0.5)
    job = Job.get_by_id(job_id)
    assert (job.status, job.failure_reason) == ("failed", "Timed out after 0.5 minutes")
    assert steps_of(job_id)[0].status == "failed"


# ------------------------------------------------------------------ budget lock
def test_claim_waits_while_another_job_of_the_budget_runs(svc):
    running = svc.create("budget_sync", "demo").job.id
    waiting = svc.create("snapshot_create", "demo").job.id
    assert svc.claim(running, "w1").started
    claim = svc.claim(waiting, "w2")
    assert claim.started is False and claim.blocked_by == running
    job = Job.get_by_id(waiting)
    assert job.status == "queued" and job.blocked_by == running and job.attempt == 0
    assert steps_of(waiting)[0].status == "pending"
    assert events_of(waiting)[-1].message == f"Waiting for Sync Budget ({running[:8]}) to finish on this budget"
    count = event_count(waiting)
    svc.claim(waiting, "w2")  # a second try while still blocked writes no second "Waiting" event
    assert event_count(waiting) == count
    assert svc.waiting_job("demo") == waiting


def test_a_job_of_another_budget_is_not_blocked(svc):
    svc.claim(svc.create("budget_sync", "demo").job.id, "w1")
    other = svc.create("budget_sync", "other").job.id
    assert svc.claim(other, "w2").started


def test_finishing_the_holder_enqueues_the_job_waiting_for_its_budget(svc, queue):
    running = svc.create("budget_sync", "demo").job.id
    waiting = svc.create("snapshot_create", "demo").job.id
    step = svc.claim(running, "w1").step
    assert not svc.claim(waiting, "w2").started
    queue.enqueued.clear()
    svc.advance(running, step.id)
    assert queue.enqueued == [(waiting, 0.0)]
    assert svc.claim(waiting, "w2").started


def test_the_lock_is_released_when_the_holder_finishes(svc, queue):
    running = svc.create("budget_sync", "demo").job.id
    waiting = svc.create("snapshot_create", "demo").job.id
    step = svc.claim(running, "w1").step
    assert not svc.claim(waiting, "w2").started
    svc.advance(running, step.id)
    queue.enqueued.clear()
    assert svc.wake_waiting("demo") == waiting
    assert queue.enqueued == [(waiting, 0.0)]
    claim = svc.claim(waiting, "w2")
    assert claim.started
    assert Job.get_by_id(waiting).blocked_by is None


def test_an_expired_lock_of_a_silent_worker_does_not_block_forever(db, queue, clock):
    svc = JobService(default_registry(), queue, clock=clock, lock_ttl_seconds=30)
    svc.claim(svc.create("budget_sync", "demo").job.id, "w1")
    waiting = svc.create("snapshot_create", "demo").job.id
    assert not svc.claim(waiting, "w2").started
    clock.advance(seconds=31)
    assert svc.claim(waiting, "w2").started


# ------------------------------------------------------------------ retry and requeue
def test_retry_later_requeues_with_a_delay_and_a_due_time(svc, queue, clock):
    job_id = svc.create("budget_sync", "demo").job.id
    step = svc.claim(job_id, "w").step
    queue.enqueued.clear()
    at = svc.retry_later(job_id, step.id, "Server busy", 12.0)
    job = Job.get_by_id(job_id)
    assert at == T0 + dt.timedelta(seconds=12)
    assert (job.status, job.next_attempt_at, job.attempt) == ("queued", at, 1)
    assert steps_of(job_id)[0].status == "pending" and steps_of(job_id)[0].started_at is None
    assert queue.enqueued == [(job_id, 12.0)]
    assert events_of(job_id)[-1].message == "Attempt 1 of 3 failed: Server busy. Retrying in 12 s"


def test_a_retry_is_not_claimed_before_it_is_due(svc, clock):
    job_id = svc.create("budget_sync", "demo").job.id
    step = svc.claim(job_id, "w").step
    at = svc.retry_later(job_id, step.id, "Server busy", 12.0)
    claim = svc.claim(job_id, "w")
    assert claim.started is False and claim.not_before == at
    clock.advance(seconds=12)
    claim = svc.claim(job_id, "w")
    assert claim.started and Job.get_by_id(job_id).attempt == 2


def test_retry_later_releases_the_budget_lock(svc):
    first = svc.create("budget_sync", "demo").job.id
    step = svc.claim(first, "w").step
    svc.retry_later(first, step.id, "Server busy", 60.0)
    other = svc.create("snapshot_create", "demo").job.id
    assert svc.claim(other, "w").started


def test_requeue_with_attempts_left_sends_the_job_back_to_the_queue(svc, queue):
    job_id = svc.create("budget_sync", "demo").job.id
    svc.claim(job_id, "w")
    queue.enqueued.clear()
    assert svc.requeue(job_id, "The worker was lost") == "queued"
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempt, job.worker) == ("queued", 1, None)
    assert steps_of(job_id)[0].status == "pending"
    assert queue.enqueued == [(job_id, 0.0)]
    assert events_of(job_id)[-1].message == "The worker was lost; queued again for attempt 2"


def test_requeue_with_a_refund_does_not_use_up_an_attempt(svc):
    job_id = svc.create("budget_sync", "demo").job.id
    svc.claim(job_id, "w")
    assert svc.requeue(job_id, "The worker shut down", refund_attempt=True) == "queued"
    assert Job.get_by_id(job_id).attempt == 0


def test_requeue_with_attempts_exhausted_fails_as_interrupted(svc, queue):
    job_id = svc.create("sync_and_suggest", "demo").job.id
    for _ in range(3):
        assert svc.claim(job_id, "w").started
        status = svc.requeue(job_id, "The worker was lost")
    assert status == "failed"
    job = Job.get_by_id(job_id)
    reason = "Interrupted: the worker stopped while this job was running"
    assert (job.status, job.attempt, job.failure_reason) == ("failed", 3, reason)
    sync_step, suggest_step = steps_of(job_id)
    assert (sync_step.status, sync_step.failure_reason) == ("failed", reason)
    assert suggest_step.status == "canceled"
    assert [j for j, _ in queue.enqueued].count(job_id) == 3  # created + two requeues, not the failure


def test_requeue_of_a_job_that_is_not_running_changes_nothing(svc):
    job_id = svc.create("budget_sync", "demo").job.id
    assert svc.requeue(job_id, "lost") is None
    assert status_of(job_id) == "queued"


def test_enqueue_when_due_delays_the_task_until_then_and_never_below_zero(svc, queue):
    job_id = svc.create("budget_sync", "demo").job.id
    queue.enqueued.clear()
    svc.enqueue_when_due(job_id, T0 + dt.timedelta(seconds=12))
    svc.enqueue_when_due(job_id, T0 - dt.timedelta(seconds=5))
    assert queue.enqueued == [(job_id, 12.0), (job_id, 0.0)]


def test_fail_or_retry_retries_a_transient_failure_while_attempts_are_left(svc, queue):
    job_id = svc.create("budget_sync", "demo").job.id
    step = svc.claim(job_id, "w").step
    queue.enqueued.clear()
    delay = svc.fail_or_retry(job_id, step.id, "Server busy", transient=True)
    assert delay is not None and delay > 0
    assert status_of(job_id) == "queued" and queue.enqueued == [(job_id, delay)]


def test_fail_or_retry_fails_a_permanent_failure_and_the_last_attempt(svc):
    permanent = svc.create("budget_sync", "demo").job.id
    step = svc.claim(permanent, "w").step
    assert svc.fail_or_retry(permanent, step.id, "Wrong password", transient=False) is None
    assert (status_of(permanent), Job.get_by_id(permanent).failure_reason) == ("failed", "Wrong password")
    last = svc.create("budget_sync", "demo").job.id
    Job.update(max_attempts=1).where(Job.id == last).execute()
    step = svc.claim(last, "w").step
    assert svc.fail_or_retry(last, step.id, "Server busy", transient=True) is None
    assert status_of(last) == "failed"


def test_reenqueue_lost_enqueues_only_what_the_queue_does_not_hold(svc, queue):
    held = svc.create("budget_sync", "demo").job
    lost = svc.create("budget_sync", "other").job
    queue.enqueued = [(held.id, 0.0)]
    assert svc.reenqueue_lost([(held.id, held.enqueued_at), (lost.id, lost.enqueued_at)]) == [lost.id]
    assert queue.enqueued == [(held.id, 0.0), (lost.id, 0.0)]
    assert events_of(lost.id)[-1].message == "Its task was lost; enqueued again"


# ------------------------------------------------------------------ progress and heartbeat
def test_progress_is_recorded_on_the_running_step_only(svc):
    job_id = svc.create("sync_and_suggest", "demo").job.id
    step = svc.claim(job_id, "w").step
    svc.progress(job_id, step.id, 40, 120)
    first, second = steps_of(job_id)
    assert (first.progress_done, first.progress_total) == (40, 120)
    svc.progress(job_id, second.id, 5, 10)  # not running: ignored
    assert steps_of(job_id)[1].progress_done == 0


def test_heartbeat_refreshes_the_running_job(svc, clock):
    job_id = svc.create("budget_sync", "demo").job.id
    svc.claim(job_id, "w")
    clock.advance(seconds=9)
    assert svc.heartbeat(job_id) is False
    assert Job.get_by_id(job_id).heartbeat_at == T0 + dt.timedelta(seconds=9)


def test_create_retries_when_the_twin_that_blocked_it_finished_in_between(services, queue):
    from jobs.service import JobService

    first = services.jobs.create("budget_sync", "demo").job

    class TwinFinishesMeanwhile(JobService):
        raced = False

        def active_twin(self, *args, **kwargs):
            if not self.raced:  # the twin ends between the refused insert and this lookup
                self.raced = True
                self.cancel(first.id)
            return super().active_twin(*args, **kwargs)

    racing = TwinFinishesMeanwhile(services.registry, queue)
    second = racing.create("budget_sync", "demo")
    assert second.created and second.job.id != first.id
    assert second.job.status == "queued"

"""Sync and apply outlast a restart of the budget's server: transient errors wait about 1, 5, 15 minutes (issue 16 item 5)."""
from __future__ import annotations

import datetime as dt

import pytest

from budget.connector import ConnectorError
from jobs.orchestrator import JobOrchestrator
from jobs.service import JobService
from jobs.steps import StepOutcome
from models.jobs import Job, JobEvent
from tests.support.clock import Clock

T0 = dt.datetime(2026, 2, 1, 12, 0, 0)
UNREACHABLE = "Cannot reach the Actual server at http://127.0.0.1:5006"


def setup(services, runners, clock):
    svc = JobService(services.registry, services.jobs.queue, clock=clock)
    all_runners = {**services.steps.runners(), **runners}
    return svc, JobOrchestrator(svc, all_runners, worker="test:1", heartbeat_seconds=0.2)


def last_message(job_id):
    return JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id.desc()).first().message


@pytest.mark.parametrize("kind,step", [("budget_sync", "sync"), ("sync_and_suggest", "sync"),
                                       ("suggestions_apply", "apply"), ("snapshot_redownload", "redownload")])
def test_a_server_that_is_down_is_tried_again_after_1_5_and_15_minutes_then_the_job_fails(services, kind, step):
    clock = Clock(T0)
    down = []

    def unreachable(ctx):
        down.append(clock())
        raise ConnectorError(UNREACHABLE, transient=True, code="actual_unreachable")

    svc, orch = setup(services, {step: unreachable}, clock)
    metadata = {"suggestionIds": ["s1"]} if kind == "suggestions_apply" else {}
    job_id = svc.create(kind, "demo", metadata=metadata).job.id
    waits = []
    for expected in (60, 300, 900):
        assert orch.run(job_id).status == "queued"
        job = Job.get_by_id(job_id)
        wait = (job.next_attempt_at - clock()).total_seconds()
        assert expected <= wait <= expected * 1.2
        when = f"{wait:.0f} s" if expected == 60 else f"about {round(wait / 60)} min, at {job.next_attempt_at:%H:%M} UTC"
        assert last_message(job_id) == f"Attempt {job.attempt} of 4 failed: {UNREACHABLE}. Retrying in {when}"
        waits.append(wait)
        clock.now = job.next_attempt_at
    assert orch.run(job_id).status == "failed"
    job = Job.get_by_id(job_id)
    assert (job.status, job.attempt, job.failure_reason) == ("failed", 4, UNREACHABLE)
    assert len(down) == 4 and sum(waits) >= 1260  # 21 minutes and more before it gives up


def test_the_job_detail_says_when_the_next_try_is(services, client):
    clock = Clock(T0)

    def server_error(ctx):
        raise ConnectorError("The Actual server answered HTTP 502", transient=True, code="actual_server_error")

    svc, orch = setup(services, {"sync": server_error}, clock)
    job_id = svc.create("budget_sync", "demo").job.id
    orch.run(job_id)
    detail = client.simulate_get(f"/api/jobs/{job_id}").json
    assert (detail["job"]["status"], detail["job"]["attempt"], detail["job"]["maxAttempts"]) == ("queued", 1, 4)
    next_at = dt.datetime.fromisoformat(detail["job"]["nextAttemptAt"].rstrip("Z"))
    assert T0 + dt.timedelta(seconds=60) <= next_at <= T0 + dt.timedelta(seconds=72)
    assert "Retrying in" in detail["events"][-1]["message"]


def test_an_error_that_is_not_transient_fails_at_once(services):
    clock = Clock(T0)

    def wrong_password(ctx):
        raise ConnectorError("The Actual server rejected the password. Check ACTUAL_PASSWORD", code="actual_auth")

    svc, orch = setup(services, {"apply": wrong_password}, clock)
    job_id = svc.create("suggestions_apply", "demo", metadata={"suggestionIds": ["s1"]}).job.id
    assert orch.run(job_id).status == "failed"
    job = Job.get_by_id(job_id)
    assert (job.attempt, job.next_attempt_at) == (1, None)


def test_a_step_that_succeeds_on_the_retry_ends_the_job_succeeded(services):
    clock = Clock(T0)
    calls = []

    def back_after_a_restart(ctx):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectorError(UNREACHABLE, transient=True, code="actual_unreachable")
        return StepOutcome({"new": 0, "changed": 0, "total": 0, "full": False})

    svc, orch = setup(services, {"sync": back_after_a_restart}, clock)
    job_id = svc.create("budget_sync", "demo").job.id
    orch.run(job_id)
    clock.now = Job.get_by_id(job_id).next_attempt_at
    assert orch.run(job_id).status == "succeeded"
    assert Job.get_by_id(job_id).attempt == 2

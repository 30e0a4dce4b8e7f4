"""The reconciler recovers lost work and leaves alone what is only waiting."""
from __future__ import annotations

import datetime as dt

from jobs.reconciler import Reconciler
from models.jobs import Job, JobEvent


def backdate(job_id: str, seconds: float) -> None:
    past = dt.datetime.utcnow() - dt.timedelta(seconds=seconds)
    Job.update(enqueued_at=past, heartbeat_at=past, updated_at=past).where(Job.id == job_id).execute()


def reconciler(services) -> Reconciler:
    return Reconciler(services.jobs, heartbeat_timeout_seconds=30, queued_grace_seconds=60)


def test_a_queued_job_whose_task_is_lost_is_enqueued_again_once(services, queue):
    job = services.jobs.create("budget_sync", "demo").job
    queue.enqueued.clear()  # the task never reached the queue
    backdate(job.id, 120)
    assert reconciler(services).run()["reenqueued"] == 1
    assert reconciler(services).run()["reenqueued"] == 0  # held by the queue now
    assert [j for j, _ in queue.enqueued] == [job.id]


def test_a_job_waiting_for_its_budget_is_not_called_lost(services, queue):
    running = services.jobs.create("budget_sync", "demo").job
    assert services.jobs.claim(running.id, "w:1").started
    waiting = services.jobs.create("snapshot_create", "demo").job
    assert services.jobs.claim(waiting.id, "w:2").blocked_by == running.id
    queue.enqueued.clear()
    backdate(waiting.id, 120)
    assert reconciler(services).run()["reenqueued"] == 0
    assert not JobEvent.select().where(JobEvent.job == waiting.id, JobEvent.message.contains("lost")).exists()


def test_a_stale_running_job_is_requeued_for_its_next_attempt(services, queue):
    job = services.jobs.create("budget_sync", "demo").job
    services.jobs.claim(job.id, "w:1")
    backdate(job.id, 120)
    assert reconciler(services).run()["requeued"] == 1
    again = Job.get_by_id(job.id)
    assert again.status == "queued" and again.attempt == 1
    assert job.id in [j for j, _ in queue.enqueued]

"""Metrics from the database, worker liveness and the degraded health, job notifications."""
from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.orchestrator import JobOrchestrator
from jobs.retention import purge_old_jobs
from jobs.steps import StepFailed, StepOutcome
from jobs.workers import WorkerDirectory, WorkerPresence
from models.ops import Worker
from notify.notices import JobNotices
from ops.metrics import JobMetrics, metrics_registry, render


def ok(ctx):
    return StepOutcome({"done": True}, "done")


def broken(ctx):
    raise StepFailed("Bank feed down")


def run(services, kind_type: str, runners: dict, *, trigger: str = "user", budget_id: str = "demo") -> str:
    job = services.jobs.create(kind_type, budget_id, trigger=trigger).job
    JobOrchestrator(services.jobs, runners, worker="test:1", heartbeat_seconds=5).run(job.id)
    return job.id


def scrape(collector: JobMetrics) -> dict[tuple[str, tuple], float]:
    """Every sample of one scrape, parsed by prometheus_client's own parser: (name, labels) -> value."""
    text = render(metrics_registry(collector)).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def later(hours: float):
    return lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(hours=hours)


@pytest.fixture()
def ran(services):
    fine = {"sync": ok, "suggestions": ok}
    run(services, "budget_sync", fine)
    run(services, "sync_and_suggest", fine)
    run(services, "scheduled_sync_and_suggest", {"sync": broken, "suggestions": ok}, trigger="scheduled")
    services.jobs.create("budget_sync", "demo")  # stays queued: no worker here
    return services


def test_metrics_count_finished_and_waiting_jobs(ran):
    samples = scrape(JobMetrics(ran.registry, WorkerDirectory(30)))
    finished = {labels: v for (name, labels), v in samples.items() if name == "budget_assist_jobs_finished_total"}
    assert finished == {(("status", "succeeded"), ("type", "budget_sync")): 1.0,
                        (("status", "succeeded"), ("type", "sync_and_suggest")): 1.0,
                        (("status", "failed"), ("type", "scheduled_sync_and_suggest")): 1.0}
    assert samples[("budget_assist_jobs", (("status", "queued"), ("type", "budget_sync")))] == 1.0
    assert samples[("budget_assist_job_duration_seconds_count", (("type", "budget_sync"),))] == 1.0
    assert samples[("budget_assist_oldest_queued_job_age_seconds", ())] >= 0
    assert ("budget_assist_last_successful_sync_timestamp_seconds", (("budget", "demo"),)) in samples
    assert samples[("budget_assist_workers_alive", ())] == 0.0


def test_rolled_up_totals_match_and_survive_the_retention_purge(ran):
    before = scrape(JobMetrics(ran.registry, WorkerDirectory(30)))
    collector = JobMetrics(ran.registry, WorkerDirectory(30), clock=later(1))
    assert collector.roll_up() is True and collector.roll_up() is False  # once per ROLLUP_EVERY
    rolled = scrape(collector)
    counters = [k for k in before if k[0].endswith(("_total", "_bucket", "_count", "_sum"))]
    assert {k: rolled[k] for k in counters} == {k: before[k] for k in counters}
    assert purge_old_jobs(1, clock=later(24 * 40), pause_seconds=0) == 3
    after = scrape(JobMetrics(ran.registry, WorkerDirectory(30), clock=later(24 * 40)))
    assert {k: after[k] for k in counters} == {k: before[k] for k in counters}


def test_a_worker_row_is_written_refreshed_and_removed(services):
    now = [dt.datetime(2026, 3, 1, 12, 0, 0)]
    presence = WorkerPresence("host-a", 4242, interval=60, clock=lambda: now[0])
    directory = WorkerDirectory(30, clock=lambda: now[0])
    presence.beat()
    with presence.running("job-1"):
        now[0] += dt.timedelta(seconds=20)
        presence.beat()
        row = Worker.get_by_id("host-a:4242")
        assert (row.running_job_id, row.running_jobs, row.last_seen_at) == ("job-1", 1, now[0])
    assert directory.alive_count() == 1
    now[0] += dt.timedelta(seconds=31)
    assert directory.alive_count() == 0 and directory.list()[0]["alive"] is False
    presence.stop()
    assert directory.list() == []


def test_health_is_degraded_only_while_jobs_wait_and_no_worker_is_alive(services):
    directory = WorkerDirectory(30)
    assert directory.health()["status"] == "ok"
    services.jobs.create("budget_sync", "demo")
    health = directory.health()
    assert health["status"] == "degraded" and health["queuedJobs"] == 1 and health["workers"] == 0
    assert health["message"] == "No worker is running: jobs will wait."
    WorkerPresence("host-a", 1, interval=60).beat()
    assert directory.health() == {"status": "ok", "workers": 1, "queuedJobs": 1}


def test_health_and_workers_over_http(client, services):
    services.jobs.create("budget_sync", "demo")
    assert client.simulate_get("/api/health").json["status"] == "degraded"
    WorkerPresence("host-a", 7, interval=60).beat()
    assert client.simulate_get("/api/health").json["status"] == "ok"
    workers = client.simulate_get("/api/workers").json["workers"]
    assert [(w["id"], w["alive"]) for w in workers] == [("host-a:7", True)]


def test_metrics_need_the_token_when_one_is_set(services):
    from dataclasses import replace

    from falcon import testing

    from api.app import create_app

    open_client = testing.TestClient(create_app(services), headers={"Host": "localhost"})
    assert open_client.simulate_get("/metrics").status_code == 200  # TestClient's peer is loopback
    remote = open_client.simulate_get("/metrics", remote_addr="192.0.2.7")
    assert remote.status_code == 403 and remote.json["error"]["code"] == "forbidden"
    services.config = replace(services.config, metrics_token="t0ken")
    guarded = testing.TestClient(create_app(services), headers={"Host": "localhost"})
    assert guarded.simulate_get("/metrics").status_code == 401
    assert guarded.simulate_get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    resp = guarded.simulate_get("/metrics", headers={"Authorization": "Bearer t0ken"}, remote_addr="192.0.2.7")
    assert resp.status_code == 200 and "budget_assist_jobs_finished_total" in resp.text


def notices(services, sent: list, on=frozenset({"failure", "suggestions"})) -> JobNotices:
    return JobNotices(services.registry, sent.append, notify_on=on, public_url="https://budget.example/")


def test_a_job_that_failed_for_good_is_announced_once(ran):
    sent: list = []
    assert notices(ran, sent).sweep() == 1
    assert notices(ran, sent).sweep() == 0  # another worker's sweep finds it claimed
    (message,) = sent
    assert message.kind == "failure" and message.title == "budget-assist: Scheduled Sync & Generate failed"
    assert "Bank feed down" in message.body and "https://budget.example/#budget=demo&job=" in message.body


def pending_suggestion(n: int) -> None:
    from models.domain import Suggestion

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    Suggestion.create(id=f"s{n}", budget_id="demo", transaction_id=f"t{n}", payee_name="Shop", payee_key="shop",
                      amount=-100, date=now.date(), account_name="Checking", proposed_category_id="c1",
                      proposed_category_name="Food", confidence=0.9, rationale="same payee", status="pending",
                      created_at=now, updated_at=now)


def test_a_scheduled_run_that_leaves_suggestions_says_how_many(services):
    fine = {"sync": ok, "suggestions": ok}
    for n in range(3):
        pending_suggestion(n)
    run(services, "sync_and_suggest", fine)  # started by a user: no message about suggestions
    run(services, "scheduled_sync_and_suggest", fine, trigger="scheduled")
    sent: list = []
    assert notices(services, sent).sweep() == 1
    assert sent[0].title == "budget-assist: 3 suggestions to review"
    assert sent[0].body.endswith("https://budget.example/#budget=demo")


def test_success_is_announced_only_when_asked(ran):
    sent: list = []
    notices(ran, sent, on=frozenset({"success"})).sweep()
    assert sorted(m.title for m in sent) == ["budget-assist: Sync & Generate Suggestions succeeded",
                                             "budget-assist: Sync Budget succeeded"]


def test_the_schedule_counts_from_the_last_successful_sync(client, services):
    first = client.simulate_get("/api/schedule", params={"budgetId": "demo"}).json
    assert first["lastSyncAt"] is None and first["intervalMinutes"] == 60 and first["nextSyncDueAt"]
    job_id = run(services, "budget_sync", {"sync": ok})
    ended = services.job_queries.get(job_id).completed_at
    body = client.simulate_get("/api/schedule", params={"budgetId": "demo"}).json
    due = dt.datetime.fromisoformat(body["nextSyncDueAt"][:-1])
    assert abs((due - ended).total_seconds() - 3600) < 0.01
    assert client.simulate_get("/api/schedule", params={"budgetId": "nope"}).status_code == 422


def test_the_scheduled_sync_waits_an_interval_after_any_successful_sync(services):
    from jobs.scheduling import ScheduledSync
    from models.jobs import Job

    run(services, "sync_and_suggest", {"sync": ok, "suggestions": ok})  # the user's own first sync
    assert ScheduledSync(services.jobs, 60).enqueue_due() == []  # not a minute later: 60 minutes after it
    ended = services.job_queries.get(Job.select(Job.id).scalar()).completed_at
    an_hour_later = lambda: ended + dt.timedelta(minutes=60)  # noqa: E731
    (job_id,) = ScheduledSync(services.jobs, 60, clock=an_hour_later).enqueue_due()
    assert services.job_queries.get(job_id).trigger == "scheduled"
    assert ScheduledSync(services.jobs, 60, clock=an_hour_later).enqueue_due() == []  # once, while it is queued


def test_a_scheduled_job_keeps_the_interval_that_made_it(client, services):
    from jobs.scheduling import ScheduledSync

    (job_id,) = ScheduledSync(services.jobs, 30).enqueue_due()
    job = client.simulate_get(f"/api/jobs/{job_id}").json["job"]
    assert (job["trigger"], job["metadata"]) == ("scheduled", {"intervalMinutes": 30})  # the page says "every 30 min"


def test_a_budget_that_never_synced_is_due_at_once(services):
    from jobs.scheduling import ScheduledSync

    assert len(ScheduledSync(services.jobs, 60).enqueue_due()) == 1

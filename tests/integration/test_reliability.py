"""Nothing lost, nothing stuck: real workers killed, stopped, canceled, timed out and retried."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest

from tests.support.stack import FAST_RECOVERY, INTERRUPTED, ROOT, TERMINAL, iso, wait_until

pytestmark = pytest.mark.integration



def make_budget(stack, name: str, fail_on: dict | None = None, delay_on: dict | None = None) -> str:
    """A new demo budget whose connector fails or takes long as asked (test-only fault injection)."""
    r = stack.api("POST", "/api/budgets", {"name": name})
    assert r.status_code == 201, r.text
    budget_id = r.json()["budget"]["id"]
    if fail_on or delay_on:
        stack.inject_faults(budget_id, fail_on=fail_on, delay_on=delay_on)
    return budget_id


def all_jobs(stack) -> list[dict]:
    jobs, cursor = [], None
    while True:
        page = stack.api("GET", "/api/jobs?limit=100" + (f"&cursor={cursor}" if cursor else "")).json()
        jobs += page["jobs"]
        cursor = page["nextCursor"]
        if not cursor:
            return jobs


def wait_running(stack, job_id: str, timeout: float = 30) -> dict:
    return stack.wait_job(job_id, timeout, statuses={"running"} | TERMINAL)


def test_sigkill_at_several_moments_loses_nothing_and_repeats_no_effect(stack_factory):
    stack = stack_factory(FAST_RECOVERY, workers=1)
    slow_sync = make_budget(stack, "Slow bank", delay_on={"pull_latest": 1.5})
    slow_suggest = make_budget(stack, "Slow history", delay_on={"transactions": 1.5})
    plain = make_budget(stack, "Plain")
    jobs = [
        stack.post_job("sync-and-suggest", slow_sync),  # killed inside the sync step
        stack.post_job("sync-and-suggest", slow_suggest),  # killed between steps / inside suggestions
        stack.post_job("snapshot-create", slow_sync),  # waits behind the budget lock: killed before its step
        stack.post_job("budget-sync", plain),
        stack.post_job("snapshot-create", plain),
    ]
    for offset in (0.3, 1.0, 2.2):
        worker = stack.workers[-1]
        wait_until(lambda: any(j["status"] == "running" for j in all_jobs(stack)), 30, 0.05, "a running job")
        time.sleep(offset)
        stack.signal_worker(worker, signal.SIGKILL)
        worker.wait(10)
        stack.start_worker()
    ids = [j["id"] for j in jobs]
    finals = [stack.wait_job(i, 90) for i in ids]
    for detail in finals:
        job = detail["job"]
        assert job["status"] == "succeeded" or job["failureReason"] == INTERRUPTED, detail
        assert all(s["status"] in ("succeeded", "failed", "canceled") for s in detail["steps"])
    assert not [j for j in all_jobs(stack) if j["status"] in ("queued", "running")]
    assert any("worker stopped" in e["message"] for d in finals for e in d["events"]), "no job was interrupted"
    per_job = stack.sql("SELECT job_id, COUNT(*) FROM snapshot GROUP BY job_id HAVING COUNT(*) > 1")
    dup_suggestions = stack.sql("SELECT budget_id, transaction_id, COUNT(*) FROM suggestion "
                                "GROUP BY budget_id, transaction_id HAVING COUNT(*) > 1")
    assert per_job == [] and dup_suggestions == []
    for detail in finals:
        if detail["job"]["type"] == "snapshot_create" and detail["job"]["status"] == "succeeded":
            files = list((stack.data_dir / "snapshots" / detail["job"]["budgetId"]).glob("*.sqlite"))
            assert [f.stem for f in files].count(detail["job"]["id"]) == 1


def test_apply_is_not_applied_twice_after_a_kill(stack_factory):
    stack = stack_factory(FAST_RECOVERY, workers=1)
    budget = make_budget(stack, "Slow apply")
    stack.wait_job(stack.post_job("sync-and-suggest", budget)["id"])
    pending = stack.api("GET", f"/api/suggestions?budgetId={budget}&status=pending").json()["suggestions"][:8]
    ids = [s["id"] for s in pending]
    stack.api("POST", "/api/suggestions/approve", {"suggestionIds": ids})
    # slow the apply's trailing sync so the kill lands after the apply step committed
    stack.inject_faults(budget, delay_on={"pull_latest": 2})
    job = stack.post_job("suggestions-apply", budget, suggestionIds=ids)
    wait_until(lambda: stack.api("GET", f"/api/jobs/{job['id']}").json()["steps"][1]["status"] == "running", 30)
    stack.signal_worker(stack.workers[-1], signal.SIGKILL)
    stack.workers[-1].wait(10)
    stack.start_worker()
    detail = stack.wait_job(job["id"], 60)
    assert detail["job"]["status"] == "succeeded", detail
    assert detail["steps"][0]["result"]["applied"] == len(ids)  # the apply step was not run again
    applied = stack.api("GET", f"/api/suggestions?budgetId={budget}&status=applied").json()["suggestions"]
    assert sorted(s["id"] for s in applied) == sorted(ids)
    starts = [e for e in detail["events"] if e["message"] == "Step 'Apply suggestions' started"]
    assert len(starts) == 1


def test_job_committed_without_its_task_runs_after_the_grace_period(stack_factory):
    stack = stack_factory(FAST_RECOVERY, workers=1)
    code = (
        "from core.config import Config; from wiring.services import prepare, build_services;"
        "from jobs.queue import RecordingQueue; from models.db import database;"
        "c = Config.from_env(); prepare(c); database.connect(reuse_if_open=True);"
        "s = build_services(c, RecordingQueue());"
        "print(s.jobs.create('budget_sync', 'demo').job.id)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=stack.env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip().splitlines()[-1]
    detail = stack.wait_job(job_id, 30)
    assert detail["job"]["status"] == "succeeded"
    lost = [e for e in detail["events"] if e["message"] == "Its task was lost; enqueued again"]
    assert len(lost) == 1


def test_eight_clients_four_budgets_two_workers(stack_factory):
    stack = stack_factory({**FAST_RECOVERY, "WORKERS": "2"}, workers=2)
    budgets = [make_budget(stack, f"Household {i}") for i in range(4)]
    kinds = ["budget-sync", "snapshot-create", "sync-and-suggest", "suggestions-generate"]
    responses, errors, created = [], [], set()

    def client(n: int) -> None:
        session = stack.new_session()
        for round_ in range(5):
            budget = budgets[(n + round_) % 4]
            kind = kinds[(n * 3 + round_) % 4]
            r = session.post(f"{stack.base_url}/api/jobs/{kind}", json={"budgetId": budget}, timeout=30)
            responses.append(r.status_code)
            if r.status_code >= 400:
                errors.append(r.text)
            else:
                created.add(r.json()["job"]["id"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and all(code in (200, 201) for code in responses)
    finals = [stack.wait_job(j, 120)["job"] for j in created]
    assert all(j["status"] == "succeeded" for j in finals), [j for j in finals if j["status"] != "succeeded"]
    by_budget = defaultdict(list)
    for j in finals:
        by_budget[j["budgetId"]].append((iso(j["startedAt"]), iso(j["completedAt"])))
    for spans in by_budget.values():
        spans.sort()
        for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
            assert e1 <= s2, f"jobs of one budget overlapped: {s1}-{e1} and {s2}-{e2}"
    assert "database is locked" not in stack.logs()


def test_one_worker_runs_two_budgets_slow_steps_side_by_side(stack_factory):
    """The worker's threads take turns around each task (core/baton.py), never during a step's own work."""
    stack = stack_factory(FAST_RECOVERY, workers=1)
    budgets = [make_budget(stack, f"Slow bank {i}", delay_on={"pull_latest": 3}) for i in range(2)]
    jobs = [stack.post_job("budget-sync", budget) for budget in budgets]
    finals = [stack.wait_job(job["id"], 30)["job"] for job in jobs]
    assert [j["status"] for j in finals] == ["succeeded", "succeeded"]
    (s1, e1), (s2, e2) = sorted((iso(j["startedAt"]), iso(j["completedAt"])) for j in finals)
    assert s2 < e1, f"the second budget's sync waited for the first: {s1}-{e1} then {s2}-{e2}"


def test_cancel_queued_and_running_jobs(stack_factory):
    stack = stack_factory(FAST_RECOVERY, workers=1)
    budget = make_budget(stack, "Slow", delay_on={"pull_latest": 20})
    running = stack.post_job("sync-and-suggest", budget)
    wait_running(stack, running["id"])
    queued = stack.post_job("snapshot-create", budget)  # waits behind the running job
    r = stack.api("POST", f"/api/jobs/{queued['id']}/cancel")
    assert r.status_code == 200 and r.json()["job"]["status"] == "canceled"
    r = stack.api("POST", f"/api/jobs/{running['id']}/cancel")
    assert r.status_code == 200 and r.json()["job"]["cancelRequested"] is True
    detail = stack.wait_job(running["id"], 10)
    assert detail["job"]["status"] == "canceled"
    assert [s["status"] for s in detail["steps"]] == ["canceled", "canceled"]
    assert stack.api("POST", f"/api/jobs/{running['id']}/cancel").status_code == 409
    after = stack.wait_job(queued["id"], 5)
    assert after["job"]["startedAt"] is None and after["steps"][0]["status"] == "canceled"


def test_timeout_fails_the_job_and_stops_its_work(stack_factory):
    stack = stack_factory({**FAST_RECOVERY, "JOB_TIMEOUT_MINUTES_BUDGET_SYNC": "0.02"}, workers=1)
    budget = make_budget(stack, "Very slow", delay_on={"pull_latest": 30})
    detail = stack.wait_job(stack.post_job("budget-sync", budget)["id"], 20)
    assert detail["job"]["status"] == "failed"
    assert detail["job"]["failureReason"] == "Timed out after 0.02 minutes"
    assert detail["steps"][0]["status"] == "failed"
    elapsed = (iso(detail["job"]["completedAt"]) - iso(detail["job"]["startedAt"])).total_seconds()
    assert elapsed < 5


def test_transient_error_is_retried_to_success_and_permanent_is_not(stack_factory):
    stack = stack_factory(FAST_RECOVERY, workers=1)
    flaky = make_budget(stack, "Flaky", fail_on={"pull_latest": "transient:2:Bank connection reset"})
    broken = make_budget(stack, "Broken", fail_on={"pull_latest": "Bank account closed"})
    flaky_job = stack.post_job("budget-sync", flaky)
    broken_job = stack.post_job("budget-sync", broken)
    detail = stack.wait_job(flaky_job["id"], 30)
    assert detail["job"]["status"] == "succeeded" and detail["job"]["attempt"] == 3
    retries = [e["message"] for e in detail["events"] if "Retrying in" in e["message"]]
    assert len(retries) == 2 and "Bank connection reset" in retries[0]
    failed = stack.wait_job(broken_job["id"], 30)
    assert failed["job"]["status"] == "failed" and failed["job"]["attempt"] == 1
    assert failed["job"]["failureReason"] == "Bank account closed"
    assert not [e for e in failed["events"] if "Retrying" in e["message"]]


def test_retry_waits_queued_with_attempt_and_next_try(stack_factory):
    stack = stack_factory({**FAST_RECOVERY, "RETRY_BASE_SECONDS": "30"}, workers=1)
    flaky = make_budget(stack, "Flaky later", fail_on={"pull_latest": "transient:1:Bank timeout"})
    job = stack.post_job("budget-sync", flaky)
    detail = wait_until(lambda: (d := stack.api("GET", f"/api/jobs/{job['id']}").json())["job"]["attempt"] == 1
                        and d["job"]["status"] == "queued" and d, 20)
    assert detail["job"]["nextAttemptAt"] is not None
    assert iso(detail["job"]["nextAttemptAt"]) > iso(detail["job"]["updatedAt"])
    assert detail["steps"][0]["status"] == "pending"


def test_sigterm_stops_gracefully_and_the_job_resumes(stack_factory):
    stack = stack_factory(FAST_RECOVERY, workers=1)
    budget = make_budget(stack, "Slow stop", delay_on={"pull_latest": 10})
    job = stack.post_job("sync-and-suggest", budget)
    wait_running(stack, job["id"])
    started = time.monotonic()
    code = stack.stop_worker(stack.workers[-1], signal.SIGTERM)
    assert time.monotonic() - started < 10
    assert code == 0
    detail = stack.api("GET", f"/api/jobs/{job['id']}").json()
    assert detail["job"]["status"] == "queued"
    assert any("worker shut down" in e["message"] for e in detail["events"])
    stack.start_worker()
    final = stack.wait_job(job["id"], 60)
    assert final["job"]["status"] == "succeeded" and final["job"]["attempt"] == 1


def test_scheduled_job_is_not_doubled_by_two_schedulers(stack_factory):
    stack = stack_factory(FAST_RECOVERY, workers=1)
    env = {**stack.env, "SYNC_INTERVAL_MINUTES": "60"}
    code = "from tasks import periodic_tasks as p; print(len(p.schedule_sync_and_suggest.call_local()))"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    counts = [int(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in procs]
    assert sum(counts) == 1
    scheduled = [j for j in all_jobs(stack) if j["type"] == "scheduled_sync_and_suggest"]
    assert len(scheduled) == 1
    stack.wait_job(scheduled[0]["id"], 30)
    again = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert again.stdout.strip().splitlines()[-1] == "0"  # not again within the interval, not once per missed one

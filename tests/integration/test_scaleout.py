"""Two worker hosts on Redis + PostgreSQL: serialization per budget, one scheduled job, recovery after SIGKILL."""
from __future__ import annotations

import itertools
import signal
import subprocess
import sys
from collections import defaultdict

import pytest

from tests.support import backends
from tests.support.stack import FAST_RECOVERY, INTERRUPTED, ROOT, Stack, iso, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.scaleout]



@pytest.fixture()
def two_hosts(tmp_path):
    missing = backends.missing_services()
    if missing:
        pytest.skip(missing)
    backend = backends.ScaleoutBackend.create()
    env = {**FAST_RECOVERY, **backend.env(), "HOST_NAME": "host-a"}
    stack = Stack(tmp_path / "host-a", env)
    stack.backend = backend  # dropped when the stack stops
    stack.start(workers=1)
    host_b_env = {"DATA_DIR": str(tmp_path / "host-b"), "HOST_NAME": "host-b"}
    host_b = stack.start_worker(host_b_env)
    yield stack, host_b, host_b_env
    stack.stop()


def run_scheduler(env: dict) -> subprocess.Popen:
    code = "from tasks import periodic_tasks as p; print(len(p.schedule_sync_and_suggest.call_local()))"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**env, "SYNC_INTERVAL_MINUTES": "60"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_hosts_run_200_jobs_over_10_budgets_and_survive_a_killed_host(two_hosts):
    stack, host_b, host_b_env = two_hosts
    budgets = []
    for i in range(10):
        r = stack.api("POST", "/api/budgets", {"name": f"Tenant {i}"})
        budgets.append(r.json()["budget"]["id"])
        stack.inject_faults(budgets[-1], delay_on={"pull_latest": 0.15})

    # the periodic scheduler fires on both hosts at once: each budget gets one scheduled job
    procs = [run_scheduler(stack.env), run_scheduler({**stack.env, **host_b_env})]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert sum(int(out.strip().splitlines()[-1]) for out, _ in outputs) == len(budgets) + 1  # + the demo budget

    kinds = itertools.cycle(["budget-sync", "snapshot-create", "suggestions-generate", "sync-and-suggest"])
    created: list[str] = []
    killed = False
    for budget in itertools.cycle(budgets):
        if len(created) >= 200:
            break
        r = stack.api("POST", f"/api/jobs/{next(kinds)}", {"budgetId": budget})
        assert r.status_code in (200, 201), r.text
        if r.status_code == 201:
            created.append(r.json()["job"]["id"])
        if not killed and len(created) == 80:
            wait_until(lambda: stack.sql("SELECT COUNT(*) FROM job WHERE status = 'running' AND worker LIKE ?",
                                         ("host-b:%",))[0][0] > 0, 30, 0.02, "host-b to run a job")
            stack.signal_worker(host_b, signal.SIGKILL)
            host_b.wait(10)
            killed = True

    finals = [stack.wait_job(job_id, 180)["job"] for job_id in created]
    for job in finals:
        assert job["status"] == "succeeded" or job["failureReason"] == INTERRUPTED, job
    scheduled = stack.sql("SELECT budget_id, COUNT(*) FROM job WHERE type = 'scheduled_sync_and_suggest' "
                          "GROUP BY budget_id")
    assert len(scheduled) == len(budgets) + 1 and all(count == 1 for _, count in scheduled)
    wait_until(lambda: stack.sql("SELECT COUNT(*) FROM job WHERE status IN ('queued', 'running')")[0][0] == 0,
               60, 0.2, "every job to finish")

    by_budget = defaultdict(list)
    for job in finals:
        if job["startedAt"]:
            by_budget[job["budgetId"]].append((iso(job["startedAt"]), iso(job["completedAt"])))
    for spans in by_budget.values():
        spans.sort()
        for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
            assert e1 <= s2, f"two jobs of one budget overlapped: {s1}-{e1} and {s2}-{e2}"

    workers = {w.split(":")[0] for (w,) in stack.sql("SELECT DISTINCT worker FROM job WHERE worker IS NOT NULL")}
    assert workers == {"host-a", "host-b"}
    recovered = stack.sql("SELECT COUNT(*) FROM job_event WHERE message LIKE ?",
                          ("The worker stopped while this job was running%",))[0][0]
    assert recovered >= 1, "the killed host's running job was not recovered by the reconciler"

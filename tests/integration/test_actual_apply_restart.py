"""An apply outlasts a restart of the Actual server (issue 16 item 5), through real gunicorn + huey_consumer.

The server is stopped while the apply step runs; the job waits queued for its next attempt on the
scheduled job's schedule (scaled by RETRY_BASE_SECONDS so the test takes seconds, not minutes), says
when that is, and succeeds on that attempt once the server is back.
"""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.support.actual_fixtures import seed_actual_budget, server_state
from tests.support.actual_server import start_actual_server
from tests.support.stack import Stack, iso, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.actual]

PASSWORD = "restart-pw-" + uuid.uuid4().hex[:10]
FIRST_RETRY_SECONDS = 15.0  # the scaled 1, 5, 15 minutes: 15 s, 75 s, 225 s (the server restarts in 2-10 s)


def detail_of(stack: Stack, job_id: str) -> dict:
    return stack.api("GET", f"/api/jobs/{job_id}").json()


def test_an_apply_waits_for_a_restarted_server_and_succeeds_on_its_next_attempt(actual_install, tmp_path):
    server = start_actual_server(tmp_path / "server", PASSWORD)
    stack = None
    try:
        budget = seed_actual_budget(server.url, server.token, tmp_path / "seed", "Restarted", n_transactions=60)
        fid = budget.file_id
        stack = Stack(tmp_path / "data", {"ACTUAL_SERVER_URL": server.url, "ACTUAL_PASSWORD": PASSWORD,
                                          "RETRY_BASE_SECONDS": str(FIRST_RETRY_SECONDS)}).start(workers=1)
        assert stack.wait_job(stack.post_job("sync-and-suggest", fid)["id"], 120)["job"]["status"] == "succeeded"
        pending = stack.api("GET", f"/api/suggestions?budgetId={fid}&status=pending").json()["suggestions"]
        chosen = pending[:5]
        ids = [s["id"] for s in chosen]
        assert stack.api("POST", "/api/suggestions/approve", {"suggestionIds": ids}).status_code == 200

        # the apply step starts, and the server goes away before it writes
        stack.inject_faults(fid, delay_on={"set_categories": 2})
        job = stack.post_job("suggestions-apply", fid, suggestionIds=ids)
        assert job["maxAttempts"] == 4
        wait_until(lambda: detail_of(stack, job["id"])["steps"][0]["status"] == "running", 60)
        server.stop()
        stack.inject_faults(fid)

        waiting = wait_until(lambda: (d := detail_of(stack, job["id"]))["job"]["status"] == "queued"
                             and d["job"]["attempt"] == 1 and d, 30)
        next_at = iso(waiting["job"]["nextAttemptAt"])
        failed_at = iso(waiting["job"]["updatedAt"])
        assert FIRST_RETRY_SECONDS <= (next_at - failed_at).total_seconds() <= FIRST_RETRY_SECONDS * 1.2 + 0.5
        assert [(s["stepType"], s["status"]) for s in waiting["steps"]] == [("apply", "pending"), ("sync", "pending")]
        retry_event = waiting["events"][-1]
        assert retry_event["status"] == "queued"
        assert retry_event["message"].startswith("Attempt 1 of 4 failed: Cannot reach the Actual server")
        assert "Retrying in" in retry_event["message"]
        still = stack.api("GET", f"/api/suggestions?budgetId={fid}&status=approved").json()["suggestions"]
        assert {s["id"] for s in still} == set(ids)  # nothing marked applied while the server was down

        restarted = start_actual_server(tmp_path / "server", PASSWORD, bootstrap=False, port=server.port)
        restarted.token = server.token  # earlier tokens stay valid across the restart
        server = restarted
        back = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

        final = stack.wait_job(job["id"], 150)
        assert final["job"]["status"] == "succeeded", final
        assert final["job"]["nextAttemptAt"] is None and iso(final["job"]["completedAt"]) >= next_at
        # the attempt due after the server was back succeeded (the second, unless the restart outlasted 15 s)
        assert final["job"]["attempt"] == (2 if back < next_at else 3), (back, next_at, final["events"])
        retries = [e["message"] for e in final["events"] if "Retrying in" in e["message"]]
        assert len(retries) == final["job"]["attempt"] - 1
        assert all("Cannot reach the Actual server" in m for m in retries), retries
        assert final["steps"][0]["result"]["applied"] == len(ids)
        applied = stack.api("GET", f"/api/suggestions?budgetId={fid}&status=applied").json()["suggestions"]
        assert set(ids) <= {s["id"] for s in applied}
        state = server_state(server, fid, tmp_path)
        for s in chosen:
            assert state[s["transactionId"]][0] == s["proposedCategoryId"]
    finally:
        if stack is not None:
            stack.stop()
        server.stop()

"""A second apply is not lost: real gunicorn + huey_consumer on the demo budget (issue 16 item 7)."""
from __future__ import annotations

import pytest

from budget.demo import DemoConnector
from budget.service import DEMO_SEED
from tests.support.stack import wait_until

pytestmark = pytest.mark.integration


def test_a_second_apply_for_other_ids_queues_its_own_job_and_both_are_applied(stack_factory):
    stack = stack_factory(workers=1)
    stack.wait_job(stack.post_job("sync-and-suggest")["id"])
    pending = stack.api("GET", "/api/suggestions?budgetId=demo&status=pending").json()["suggestions"]
    chosen = pending[:5]
    ids = [s["id"] for s in chosen]
    assert stack.api("POST", "/api/suggestions/approve", {"suggestionIds": ids}).status_code == 200

    # a slow sync holds the budget, so the applies below wait queued behind it
    stack.inject_faults("demo", delay_on={"pull_latest": 3})
    sync = stack.post_job("budget-sync")
    wait_until(lambda: stack.api("GET", f"/api/jobs/{sync['id']}").json()["job"]["status"] == "running", 20)
    stack.inject_faults("demo")  # later steps run at full speed

    first = stack.api("POST", "/api/jobs/suggestions-apply", {"budgetId": "demo", "suggestionIds": ids[:2]})
    second = stack.api("POST", "/api/jobs/suggestions-apply", {"budgetId": "demo", "suggestionIds": ids[2:]})
    same = stack.api("POST", "/api/jobs/suggestions-apply", {"budgetId": "demo", "suggestionIds": ids[2:][::-1]})
    assert stack.api("GET", f"/api/jobs/{sync['id']}").json()["job"]["status"] == "running"  # both were queued
    assert (first.status_code, second.status_code, same.status_code) == (201, 201, 200)
    assert first.json()["job"]["status"] == second.json()["job"]["status"] == "queued"
    assert first.json()["job"]["id"] != second.json()["job"]["id"] == same.json()["job"]["id"]
    assert same.json()["deduplicated"] is True

    done = [stack.wait_job(r.json()["job"]["id"], 60) for r in (first, second)]
    assert [d["job"]["status"] for d in done] == ["succeeded", "succeeded"], done
    assert [d["steps"][0]["result"]["applied"] for d in done] == [2, 3]
    applied = stack.api("GET", "/api/suggestions?budgetId=demo&status=applied").json()["suggestions"]
    assert set(ids) <= {s["id"] for s in applied}
    with DemoConnector(stack.data_dir / "demo" / "demo", DEMO_SEED) as budget:
        categories = {t.id: t.category_id for t in budget.transactions()}
    for s in chosen:
        assert categories[s["transactionId"]] == s["proposedCategoryId"]

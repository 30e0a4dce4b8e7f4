"""Against a real Actual server through real gunicorn + huey_consumer (issue 16 item 6): a suggestion an apply
skips is 'skipped' with its reason, and a budget deleted on the server is flagged and can be removed here.
"""
from __future__ import annotations

import uuid
import warnings

import pytest

from tests.support.actual_fixtures import OtherClient, server_state
from tests.support.stack import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.actual]


@pytest.fixture(scope="module")
def stack(actual_server, tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("lifecycle") / "data",
              {"ACTUAL_SERVER_URL": actual_server.url, "ACTUAL_PASSWORD": actual_server.password,
               "RETRY_BASE_SECONDS": "0.05", "ACTUAL_LIST_SECONDS": "1"})
    s.start(workers=1)
    yield s
    s.stop()


def run(stack: Stack, kind: str, budget_id: str, **body) -> dict:
    r = stack.api("POST", f"/api/jobs/{kind}", {"budgetId": budget_id, **body})
    assert r.status_code == 201, r.text
    return stack.wait_job(r.json()["job"]["id"], 120)


def suggestions(stack: Stack, budget_id: str, status: str = "") -> list[dict]:
    query = f"budgetId={budget_id}" + (f"&status={status}" if status else "")
    return stack.api("GET", f"/api/suggestions?{query}").json()["suggestions"]


def server_files(server) -> set[str]:
    from actual import Actual

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Actual(server.url, token=server.token) as actual:
            return {f.file_id for f in actual.list_user_files().data if not f.deleted}


def test_a_suggestion_changed_by_someone_else_is_skipped_with_the_reason_not_rejected(
        stack, actual_server, seed_budget, tmp_path):
    budget = seed_budget("Skipped at apply", n_transactions=60)
    fid = budget.file_id
    assert run(stack, "sync-and-suggest", fid)["job"]["status"] == "succeeded"
    raced, fine = suggestions(stack, fid, "pending")[:2]
    ids = [raced["id"], fine["id"]]
    assert stack.api("POST", "/api/suggestions/approve", {"suggestionIds": ids}).status_code == 200
    other = OtherClient(actual_server, fid, tmp_path)
    try:
        theirs = next(c for c in budget.categories.values() if c != raced["proposedCategoryId"])
        other.tx(raced["transactionId"]).category_id = theirs
        other.actual.commit()
    finally:
        other.close()

    applied = run(stack, "suggestions-apply", fid, suggestionIds=ids)
    assert applied["job"]["status"] == "succeeded", applied
    result = applied["steps"][0]["result"]
    assert (result["applied"], result["skipped"]) == (1, 1)
    after = {s["id"]: s for s in suggestions(stack, fid)}
    assert after[fine["id"]]["status"] == "applied" and after[fine["id"]]["skipReason"] is None
    assert after[raced["id"]]["status"] == "skipped"
    assert after[raced["id"]]["skipReason"] == result["skippedTransactions"][raced["transactionId"]]
    assert suggestions(stack, fid, "rejected") == []
    assert server_state(actual_server, fid, tmp_path)[raced["transactionId"]][0] == theirs  # theirs stays


def test_a_budget_deleted_on_the_server_is_flagged_and_removed_here_only(stack, actual_server, seed_budget, tmp_path):
    kept = seed_budget("Kept on the server", n_transactions=20)
    doomed = seed_budget("Deleted on the server", n_transactions=60)
    fid = doomed.file_id
    assert run(stack, "sync-and-suggest", fid)["job"]["status"] == "succeeded"
    assert run(stack, "budget-sync", kept.file_id)["job"]["status"] == "succeeded"
    assert len(suggestions(stack, fid)) > 0
    copy = stack.data_dir / "budgets" / fid
    assert (copy / "db.sqlite").is_file()
    still_on_server = stack.api("DELETE", f"/api/budgets/{fid}")
    assert still_on_server.status_code == 409 and still_on_server.json()["error"]["code"] == "budget_on_server"

    other = OtherClient(actual_server, fid, tmp_path)
    try:
        other.actual.delete_budget()  # deleted in the web app, by another device
    finally:
        other.close()
    before = server_files(actual_server)
    assert fid not in before and kept.file_id in before

    def flagged() -> dict | None:  # each web worker lists the server's files at most every ACTUAL_LIST_SECONDS
        rows = {b["id"]: b for b in stack.api("GET", "/api/budgets").json()["budgets"]}
        return rows if rows[fid]["deletedOnServer"] else None

    listed = wait_until(flagged, 15, 0.2)  # 1 s here; the default 30 s would fail this wait
    assert listed[fid]["removable"] is True and listed[fid]["name"] == "Deleted on the server"
    assert (listed[kept.file_id]["deletedOnServer"], listed[kept.file_id]["removable"]) == (False, False)

    # a job of it holds the removal off while it is active; it fails with a readable reason
    stack.inject_faults(fid, delay_on={"pull_latest": 3})
    job = stack.post_job("budget-sync", fid)
    wait_until(lambda: stack.api("GET", f"/api/jobs/{job['id']}").json()["job"]["status"] == "running", 30)
    busy = stack.api("DELETE", f"/api/budgets/{fid}")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "budget_busy", busy.text
    failed = stack.wait_job(job["id"], 60)
    assert failed["job"]["status"] == "failed" and failed["job"]["attempt"] == 1, failed  # not retried
    stack.inject_faults(fid)

    removed = stack.api("DELETE", f"/api/budgets/{fid}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["droppedSuggestions"] > 0 and removed.json()["workingCopyRemoved"] is True
    assert suggestions(stack, fid) == []
    assert not copy.exists()
    assert fid not in {b["id"] for b in stack.api("GET", "/api/budgets").json()["budgets"]}
    assert stack.api("GET", f"/api/jobs/{job['id']}").json()["job"]["status"] == "failed"  # history stays
    assert server_files(actual_server) == before  # the server was only read
    assert run(stack, "budget-sync", kept.file_id)["job"]["status"] == "succeeded"  # the other budget works on
    assert stack.api("DELETE", f"/api/budgets/{fid}").status_code == 404
    assert uuid.UUID(fid)

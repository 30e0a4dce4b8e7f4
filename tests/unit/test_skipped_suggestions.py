"""A suggestion an apply skipped is 'skipped' with its reason, not a person's 'rejected' (issue 16 item 6)."""
from __future__ import annotations

import pytest

from budget.demo import DemoConnector
from core.errors import InvalidTransition
from models.domain import SUGGESTION_STATUSES, Suggestion


def post_job(client, kind, body):
    return client.simulate_post(f"/api/jobs/{kind}", json={"budgetId": "demo", **body})


@pytest.fixture()
def approved(client, orchestrator):
    """Three approved suggestions of the demo budget, made by a real sync-and-suggest job."""
    assert orchestrator.run(post_job(client, "sync-and-suggest", {}).json["job"]["id"]).status == "succeeded"
    rows = client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "pending"}).json["suggestions"]
    chosen = rows[:3]
    ids = [s["id"] for s in chosen]
    assert client.simulate_post("/api/suggestions/approve", json={"suggestionIds": ids}).status_code == 200
    return chosen


def other_category(connector, category_id):
    return next(c.id for c in connector.categories() if c.id != category_id)


def test_an_apply_skips_what_changed_on_the_server_as_skipped_with_the_reason(
        client, services, orchestrator, config, approved):
    taken, gone, fine = approved
    with DemoConnector(config.data_dir / "demo" / "demo", services.budgets.get("demo").seed) as source:
        source.simulate_remote_change(taken["transactionId"],
                                      category_id=other_category(source, taken["proposedCategoryId"]))
        source.simulate_remote_change(gone["transactionId"], deleted=True)

    job_id = post_job(client, "suggestions-apply", {"suggestionIds": [s["id"] for s in approved]}).json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    result = client.simulate_get(f"/api/jobs/{job_id}").json["steps"][0]["result"]
    assert (result["applied"], result["skipped"]) == (1, 2)

    after = {s["id"]: s for s in client.simulate_get("/api/suggestions", params={"budgetId": "demo"}).json["suggestions"]}
    assert (after[fine["id"]]["status"], after[fine["id"]]["skipReason"]) == ("applied", None)
    assert (after[taken["id"]]["status"], after[taken["id"]]["skipReason"]) == ("skipped", "already categorized")
    assert (after[gone["id"]]["status"], after[gone["id"]]["skipReason"]) == ("skipped", "deleted")
    listed = client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "skipped"}).json
    assert {s["id"] for s in listed["suggestions"]} == {taken["id"], gone["id"]}
    rejected = client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "rejected"}).json
    assert rejected["suggestions"] == []  # nobody rejected anything


def test_a_skipped_suggestion_is_history_a_person_cannot_review(client, services, approved):
    services.suggestions.mark_skipped({approved[0]["id"]: "the category is hidden"})
    for action in ("approve", "reject"):
        resp = client.simulate_post(f"/api/suggestions/{approved[0]['id']}/{action}")
        assert resp.status_code == 409, resp.text
    with pytest.raises(InvalidTransition):
        services.suggestions.review([approved[0]["id"]], "pending")
    row = Suggestion.get_by_id(approved[0]["id"])
    assert (row.status, row.skip_reason, row.open) == ("skipped", "the category is hidden", None)


def test_mark_skipped_touches_only_approved_and_a_list_gets_a_general_reason(services, approved):
    first, second, _ = approved
    services.suggestions.review([second["id"]], "pending")
    services.suggestions.mark_skipped([first["id"], second["id"]])
    assert Suggestion.get_by_id(first["id"]).status == "skipped"
    assert Suggestion.get_by_id(first["id"]).skip_reason == "the budget changed before it could be applied"
    assert (Suggestion.get_by_id(second["id"]).status, Suggestion.get_by_id(second["id"]).skip_reason) == ("pending", None)


def test_a_skipped_transaction_still_uncategorized_may_be_suggested_again(client, services, orchestrator, approved):
    skipped = approved[0]
    services.suggestions.mark_skipped({skipped["id"]: "the category is hidden"})
    assert orchestrator.run(post_job(client, "suggestions-generate", {}).json["job"]["id"]).status == "succeeded"
    again = [s for s in client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "pending"})
             .json["suggestions"] if s["transactionId"] == skipped["transactionId"]]
    assert len(again) == 1 and again[0]["id"] != skipped["id"]


def test_the_statuses_the_api_documents(client):
    doc = client.simulate_get("/api/openapi.json").json
    suggestion = doc["components"]["schemas"]["Suggestion"]["properties"]
    assert suggestion["status"]["enum"] == list(SUGGESTION_STATUSES) and "skipped" in SUGGESTION_STATUSES
    assert suggestion["skipReason"]["type"] == ["string", "null"]

"""The review endpoints: categories, uncategorized, approve with a correction, by hand."""
from __future__ import annotations

import pytest


@pytest.fixture()
def pending(client, orchestrator):
    job_id = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"}).json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    return client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "pending"}).json["suggestions"]


def categories(client):
    resp = client.simulate_get("/api/budgets/demo/categories")
    assert resp.status_code == 200
    return resp.json


def test_categories_are_grouped_by_category_group(client, pending):
    body = categories(client)
    assert body["groups"] and all(g["name"] and g["categories"] for g in body["groups"])
    flat = [c["id"] for g in body["groups"] for c in g["categories"]]
    assert flat == [c["id"] for c in body["categories"]]


def test_approve_with_another_category_corrects_and_keeps_the_proposal(client, pending):
    s = pending[0]
    other = next(c for c in categories(client)["categories"] if c["id"] != s["proposedCategoryId"])
    resp = client.simulate_post(f"/api/suggestions/{s['id']}/approve",
                                json={"categoryId": other["id"], "createRule": True})
    assert resp.status_code == 200, resp.text
    got = resp.json["suggestion"]
    assert got["status"] == "approved" and got["corrected"] is True and got["createRule"] is True
    assert (got["categoryId"], got["categoryName"]) == (other["id"], other["name"])
    assert got["proposedCategoryId"] == s["proposedCategoryId"]


def test_approve_without_a_body_still_works(client, pending):
    resp = client.simulate_post(f"/api/suggestions/{pending[0]['id']}/approve")
    assert resp.status_code == 200 and resp.json["suggestion"]["categoryId"] == pending[0]["proposedCategoryId"]


def test_approve_rejects_an_unknown_category_or_field(client, pending):
    resp = client.simulate_post(f"/api/suggestions/{pending[0]['id']}/approve", json={"categoryId": "nope"})
    assert resp.status_code == 422 and resp.json["error"]["field"] == "categoryId"
    resp = client.simulate_post(f"/api/suggestions/{pending[0]['id']}/approve", json={"category": "x"})
    assert resp.status_code == 422 and resp.json["error"]["code"] == "unknown_field"
    resp = client.simulate_post(f"/api/suggestions/{pending[0]['id']}/approve", json={"createRule": "yes"})
    assert resp.status_code == 422 and resp.json["error"]["field"] == "createRule"


def test_bulk_approve_takes_a_category_and_a_rule_for_the_group(client, pending):
    key = pending[0]["payeeKey"]
    group = [s["id"] for s in pending if s["payeeKey"] == key]
    cat = categories(client)["categories"][0]
    resp = client.simulate_post("/api/suggestions/approve",
                                json={"suggestionIds": group, "categoryId": cat["id"], "createRule": True})
    assert resp.status_code == 200, resp.text
    assert {(s["status"], s["categoryId"], s["createRule"]) for s in resp.json["suggestions"]} == {
        ("approved", cat["id"], True)}


def test_uncategorized_lists_what_has_no_suggestion_and_can_be_categorized_by_hand(client, pending):
    resp = client.simulate_get("/api/budgets/demo/uncategorized")
    assert resp.status_code == 200
    body = resp.json
    suggested = {s["transactionId"] for s in pending}
    listed = [t for g in body["groups"] for t in g["transactions"]]
    assert body["total"] == len(listed)
    assert not suggested & {t["id"] for t in listed}
    assert all(g["why"] and g["reason"] for g in body["groups"])
    if not listed:  # the demo budget may suggest for everything: reject one so it shows up
        client.simulate_post(f"/api/suggestions/{pending[0]['id']}/reject")
        listed = [t for g in client.simulate_get("/api/budgets/demo/uncategorized").json["groups"]
                  for t in g["transactions"]]
    t = listed[0]
    cat = categories(client)["categories"][-1]
    resp = client.simulate_post("/api/suggestions", json={"budgetId": "demo", "transactionId": t["id"],
                                                          "categoryId": cat["id"]})
    assert resp.status_code == 201, resp.text
    s = resp.json["suggestion"]
    assert (s["status"], s["origin"], s["categoryId"], s["createRule"]) == ("approved", "manual", cat["id"], False)
    assert resp.headers["location"] == f"/api/suggestions/{s['id']}"
    again = client.simulate_post("/api/suggestions", json={"budgetId": "demo", "transactionId": t["id"],
                                                           "categoryId": cat["id"]})
    assert again.status_code == 422 and again.json["error"]["code"] == "has_suggestion"
    listed = [x["id"] for g in client.simulate_get("/api/budgets/demo/uncategorized").json["groups"]
              for x in g["transactions"]]
    assert t["id"] not in listed


def test_by_hand_needs_its_fields(client, pending):
    resp = client.simulate_post("/api/suggestions", json={"budgetId": "demo", "transactionId": "x"})
    assert resp.status_code == 422 and resp.json["error"]["field"] == "categoryId"
    resp = client.simulate_post("/api/suggestions", json={"budgetId": "demo", "transactionId": "nope",
                                                          "categoryId": "c"})
    assert resp.status_code == 422 and resp.json["error"]["field"] == "transactionId"


def test_categories_of_an_unknown_budget_is_404(client):
    assert client.simulate_get("/api/budgets/nope/categories").status_code == 404


def test_before_any_sync_categories_ask_for_a_sync_and_nothing_is_uncategorized(client):
    budget = client.simulate_post("/api/budgets", json={"name": "Fresh"}).json["budget"]["id"]
    resp = client.simulate_get(f"/api/budgets/{budget}/categories")
    assert resp.status_code == 422 and resp.json["error"]["code"] == "no_working_copy"
    assert client.simulate_get(f"/api/budgets/{budget}/uncategorized").json == {
        "budgetId": budget, "total": 0, "groups": []}

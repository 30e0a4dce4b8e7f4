"""A second apply is not lost: a request joins a queued apply only when it asks for exactly its ids."""
from __future__ import annotations

import pytest

from jobs.inputs import ids_key
from models.domain import Suggestion


def post_apply(client, ids):
    return client.simulate_post("/api/jobs/suggestions-apply", json={"budgetId": "demo", "suggestionIds": ids})


@pytest.fixture()
def approved(client, orchestrator):
    """Three approved suggestions of the demo budget, made by a real sync-and-suggest job."""
    job_id = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"}).json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    rows = client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "pending"}).json["suggestions"]
    ids = [r["id"] for r in rows[:3]]
    assert len(ids) == 3
    for i in ids:
        assert client.simulate_post(f"/api/suggestions/{i}/approve").status_code == 200
    return ids


def test_the_key_is_the_set_of_ids_in_any_order():
    assert ids_key(["b", "a", "c"]) == ids_key(["a", "b", "c"])
    assert ids_key(["a", "b"]) != ids_key(["a", "b", "c"]) != ids_key(["c"])
    assert ids_key(["a\nb"]) != ids_key(["a", "b"]) and len(ids_key(["x"] * 1)) <= 128


def test_an_apply_of_other_ids_queues_its_own_job_and_both_are_applied(client, orchestrator, approved):
    a, b, c = approved
    first = post_apply(client, [a])
    second = post_apply(client, [b, c])
    assert (first.status_code, second.status_code) == (201, 201)
    assert "deduplicated" not in second.json
    assert first.json["job"]["id"] != second.json["job"]["id"]
    assert second.json["job"]["metadata"]["suggestionIds"] == [b, c]

    assert orchestrator.run(first.json["job"]["id"]).status == "succeeded"
    assert orchestrator.run(second.json["job"]["id"]).status == "succeeded"
    assert {s.id: s.status for s in Suggestion.select().where(Suggestion.id.in_(approved))} == {
        a: "applied", b: "applied", c: "applied"}


def test_an_apply_of_exactly_the_same_ids_joins_the_queued_one(client, approved):
    a, b, c = approved
    first = post_apply(client, [a, b])
    same = post_apply(client, [b, a])
    more = post_apply(client, [a, b, c])
    assert (first.status_code, same.status_code, more.status_code) == (201, 200, 201)
    assert same.json["deduplicated"] is True and same.json["job"]["id"] == first.json["job"]["id"]
    assert more.json["job"]["id"] != first.json["job"]["id"]


def test_an_apply_queued_behind_another_waits_for_the_budget_and_then_runs(client, services, orchestrator, approved):
    a, b, _ = approved
    first = post_apply(client, [a]).json["job"]["id"]
    second = post_apply(client, [b]).json["job"]["id"]
    claim = services.jobs.claim(first, "test:other")  # the first apply is running elsewhere
    assert claim.started
    assert orchestrator.run(second).status == "skipped"
    detail = client.simulate_get(f"/api/jobs/{second}").json
    assert detail["job"]["status"] == "queued"
    assert any(e["message"].startswith("Waiting for Apply Approved Suggestions") for e in detail["events"])


def test_a_full_resync_is_not_folded_into_a_queued_plain_sync_and_vice_versa(client):
    plain = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"})
    full = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo", "fullResync": True})
    full_again = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo", "fullResync": True})
    plain_again = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo", "fullResync": False})
    assert (plain.status_code, full.status_code, full_again.status_code, plain_again.status_code) == (201, 201, 200, 200)
    assert full.json["job"]["id"] != plain.json["job"]["id"]
    assert full_again.json["job"]["id"] == full.json["job"]["id"]
    assert plain_again.json["job"]["id"] == plain.json["job"]["id"]
    assert full.json["job"]["metadata"] == {"fullResync": True}

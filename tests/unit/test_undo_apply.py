"""Apply with the review's choices, rules the bank import honours, and "Undo Apply" on the demo budget."""
from __future__ import annotations

import pytest

from budget import demo_data
from models.domain import Suggestion
from models.review import AppliedChange, AppliedRule


def noop(done, total):
    return None


def run(client, orchestrator, kind, body):
    resp = client.simulate_post(f"/api/jobs/{kind}", json={"budgetId": "demo", **body})
    assert resp.status_code == 201, resp.text
    job_id = resp.json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    return client.simulate_get(f"/api/jobs/{job_id}").json


def server_categories(connector, ids):
    rows = {t.id: t for t in connector.transactions()}
    return {i: rows[i].category_id for i in ids}


@pytest.fixture()
def connector(services):
    c = services.connectors.open(services.budgets.get("demo"))
    yield c
    c.close()


@pytest.fixture()
def reviewed(client, orchestrator, connector):
    """After one sync: a group approved with a rule (on a payee the next import brings again), one corrected, one by hand."""
    run(client, orchestrator, "sync-and-suggest", {})
    pending = client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "pending"}).json["suggestions"]
    seed = services_seed = connector.seed
    coming = {t.payee_id for t in demo_data.next_batch(services_seed, connector.batches_imported() + 1)}
    by_tx = {t.id: t for t in connector.transactions()}
    groups: dict[str, list[dict]] = {}
    for s in pending:
        groups.setdefault(s["payeeKey"], []).append(s)
    rule_group = next(g for g in groups.values() if by_tx[g[0]["transactionId"]].payee_id in coming)
    others = [s for s in pending if s["payeeKey"] != rule_group[0]["payeeKey"]]
    categories = client.simulate_get("/api/budgets/demo/categories").json["categories"]
    resp = client.simulate_post("/api/suggestions/approve", json={
        "suggestionIds": [s["id"] for s in rule_group], "createRule": True})
    assert resp.status_code == 200
    corrected = others[0]
    other_cat = next(c for c in categories if c["id"] != corrected["proposedCategoryId"])
    assert client.simulate_post(f"/api/suggestions/{corrected['id']}/approve",
                                json={"categoryId": other_cat["id"]}).status_code == 200
    client.simulate_post(f"/api/suggestions/{others[1]['id']}/reject")
    by_hand = client.simulate_post("/api/suggestions", json={
        "budgetId": "demo", "transactionId": others[1]["transactionId"], "categoryId": categories[0]["id"]})
    assert by_hand.status_code == 201
    approved = client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "approved"}).json["suggestions"]
    return {"rule_group": rule_group, "corrected": (corrected, other_cat), "by_hand": by_hand.json["suggestion"],
            "approved": approved, "payee_id": by_tx[rule_group[0]["transactionId"]].payee_id, "seed": seed}


def test_apply_writes_the_reviewers_categories_and_creates_the_rule_once(client, orchestrator, connector, reviewed):
    approved = reviewed["approved"]
    detail = run(client, orchestrator, "suggestions-apply", {"suggestionIds": [s["id"] for s in approved]})
    apply_step = detail["steps"][0]
    assert apply_step["result"]["applied"] == len(approved)
    corrected, other_cat = reviewed["corrected"]
    cats = server_categories(connector, [s["transactionId"] for s in approved])
    assert cats[corrected["transactionId"]] == other_cat["id"]  # the reviewer's category, not the proposal
    assert cats[reviewed["by_hand"]["transactionId"]] == reviewed["by_hand"]["categoryId"]
    rules = apply_step["result"]["rules"]
    assert [(r["payeeId"], r["created"]) for r in rules] == [(reviewed["payee_id"], True)]
    assert "1 rule created" in apply_step["summary"]
    assert [r["payee_id"] for r in connector.rules()] == [reviewed["payee_id"]]
    # the next bank import honours the rule: the payee's new transactions arrive categorized
    before = {t.id for t in connector.transactions()}
    run(client, orchestrator, "budget-sync", {})
    fresh = [t for t in connector.transactions() if t.id not in before and t.payee_id == reviewed["payee_id"]]
    assert fresh and {t.category_id for t in fresh} == {rules[0]["categoryId"]}
    # an identical rule is not created twice
    again = next(s for s in client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "pending"}).json["suggestions"])
    client.simulate_post(f"/api/suggestions/{again['id']}/approve", json={"categoryId": rules[0]["categoryId"],
                                                                       "createRule": True})
    Suggestion.update(payee_id=reviewed["payee_id"]).where(Suggestion.id == again["id"]).execute()
    second = run(client, orchestrator, "suggestions-apply", {"suggestionIds": [again["id"]]})["steps"][0]["result"]
    assert [r["created"] for r in second["rules"]] == [False] and second["rulesCreated"] == 0
    assert len(connector.rules()) == 1


def test_undo_restores_exactly_removes_the_rule_and_leaves_a_changed_transaction_alone(
        client, orchestrator, connector, reviewed):
    approved = reviewed["approved"]
    ids = [s["transactionId"] for s in approved]
    before = server_categories(connector, ids)
    apply_job = run(client, orchestrator, "suggestions-apply", {"suggestionIds": [s["id"] for s in approved]})["job"]
    touched = ids[0]
    connector.simulate_remote_change(touched, category_id=demo_data.CATEGORIES[-1].id)  # a person changes one
    detail = run(client, orchestrator, "suggestions-revert", {"applyJobId": apply_job["id"]})
    assert detail["job"]["label"] == "Undo Apply" and [s["label"] for s in detail["steps"]] == ["Undo apply"]
    result = detail["steps"][0]["result"]
    assert result["restored"] == len(ids) - 1 and result["leftAlone"] == 1
    assert result["leftAloneTransactions"] == {touched: "changed since the apply"}
    assert result["rulesRemoved"] == 1 and connector.rules() == []
    connector.pull_latest(noop)
    after = server_categories(connector, ids)
    assert {k: v for k, v in after.items() if k != touched} == {k: v for k, v in before.items() if k != touched}
    assert after[touched] == demo_data.CATEGORIES[-1].id  # theirs, kept
    assert "left alone" in detail["steps"][0]["summary"] and "1 rule removed" in detail["steps"][0]["summary"]
    # restored suggestions are approved again; a second undo has nothing left
    statuses = {s.transaction_id: s.status for s in Suggestion.select().where(Suggestion.transaction_id.in_(ids))
                if s.status != "rejected"}
    assert statuses[touched] == "applied" and {v for k, v in statuses.items() if k != touched} == {"approved"}
    again = client.simulate_post("/api/jobs/suggestions-revert", json={"budgetId": "demo", "applyJobId": apply_job["id"]})
    assert again.status_code == 422 and again.json["error"]["code"] == "nothing_to_undo"
    assert AppliedChange.select().where(AppliedChange.revert_job_id == detail["job"]["id"]).count() == len(ids)
    assert AppliedRule.get().revert_outcome == "removed"


def test_undo_needs_a_finished_apply_job_of_the_budget(client, orchestrator):
    resp = client.simulate_post("/api/jobs/suggestions-revert", json={"budgetId": "demo", "applyJobId": "nope"})
    assert resp.status_code == 422 and resp.json["error"]["code"] == "unknown_apply_job"
    sync = run(client, orchestrator, "budget-sync", {})["job"]["id"]
    resp = client.simulate_post("/api/jobs/suggestions-revert", json={"budgetId": "demo", "applyJobId": sync})
    assert resp.status_code == 422 and resp.json["error"]["field"] == "applyJobId"

"""Issue 12 against a real Actual sync server, through real gunicorn + huey_consumer: correct, categorize by
hand, apply with a rule and the note tag; a fresh actualpy client sees it all; a later import is categorized
by the rule; another client's edit survives the undo; the undo restores the rest exactly and removes the rule.

Actual runs rules in its client when it imports (the server stores them and never runs them), so the later
import is done as Actual's client does it: actualpy's `reconcile_transaction` (its bank-import path) followed
by `Actual.run_rules` on the imported transaction (what `run_bank_sync(run_rules=True)` does), then sent.
"""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
import warnings

import pytest

from tests.integration.test_actual_jobs import Fleet, actual_env, steps_of, suggestions
from tests.support.actual_fixtures import OtherClient, server_state

pytestmark = [pytest.mark.integration, pytest.mark.actual]

TAG = "#budget-assist"
RULE_PAYEE = "Pizza Place"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = Fleet(tmp_path_factory.mktemp("actual-review"))
    yield f
    f.stop_all()


@pytest.fixture(scope="module")
def household(seed_budget):
    return seed_budget("Household Review", n_transactions=150)


@pytest.fixture(scope="module")
def main(fleet, actual_server):
    return fleet.start({**actual_env(actual_server), "APPLY_NOTE_TAG": TAG})


def fresh_rules(server, file_id, tmp):
    """The live rules a fresh actualpy client with an empty data dir sees: (id, conditions, actions)."""
    from actual import Actual
    from actual.queries import get_rules

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Actual(server.url, token=server.token, file=file_id, data_dir=tmp / f"rules-{uuid.uuid4().hex}") as a:
            return [(r.id, r.conditions, r.actions) for r in get_rules(a.session)]


def test_correct_by_hand_rule_apply_import_and_undo(fleet, main, household, actual_server, tmp_path):
    fid = household.file_id
    assert fleet.run(main, "sync-and-suggest", fid)["job"]["status"] == "succeeded"
    pending = suggestions(fleet, main, fid, "pending")
    cats = fleet.api(main, "GET", f"/api/budgets/{fid}/categories").json()
    names = {c["id"]: c["name"] for c in cats["categories"]}
    assert set(household.categories) <= set(names.values())
    assert {g["name"] for g in cats["groups"]} >= {"Usual Expenses", "Fun"}

    # a payee group approved with "Always" (a rule)
    pizza = [s for s in pending if s["payeeName"] == RULE_PAYEE]
    assert pizza and {s["proposedCategoryName"] for s in pizza} == {"Restaurants"}
    r = fleet.api(main, "POST", "/api/suggestions/approve", {"suggestionIds": [s["id"] for s in pizza],
                                                             "createRule": True})
    assert r.status_code == 200 and all(s["createRule"] for s in r.json()["suggestions"])
    # one suggestion corrected to another category
    travel = household.categories["Travel"]
    other = [s for s in pending if s["payeeName"] != RULE_PAYEE and s["proposedCategoryId"] != travel]
    corrected = other[0]
    r = fleet.api(main, "POST", f"/api/suggestions/{corrected['id']}/approve", {"categoryId": travel})
    assert r.status_code == 200 and r.json()["suggestion"]["corrected"] is True
    # one rejected, then categorized by hand from the uncategorized list
    rejected = other[1]
    fleet.api(main, "POST", f"/api/suggestions/{rejected['id']}/reject")
    listing = fleet.api(main, "GET", f"/api/budgets/{fid}/uncategorized").json()
    row = next(t for g in listing["groups"] for t in g["transactions"] if t["id"] == rejected["transactionId"])
    assert row["reason"] == "rejected"
    hobbies = household.categories["Hobbies"]
    r = fleet.api(main, "POST", "/api/suggestions", {"budgetId": fid, "transactionId": rejected["transactionId"],
                                                     "categoryId": hobbies})
    assert r.status_code == 201, r.text
    assert r.json()["suggestion"]["origin"] == "manual"
    approved = suggestions(fleet, main, fid, "approved")
    expected = {s["transactionId"]: s["categoryId"] for s in approved}
    assert expected[corrected["transactionId"]] == travel and expected[rejected["transactionId"]] == hobbies
    before = server_state(actual_server, fid, tmp_path)

    applied = fleet.run(main, "suggestions-apply", fid, suggestionIds=[s["id"] for s in approved])
    assert applied["job"]["status"] == "succeeded", applied
    result = applied["steps"][0]["result"]
    assert result["applied"] == len(approved) and result["skipped"] == 0
    assert [(x["payeeName"], x["categoryName"], x["created"]) for x in result["rules"]] == [
        (RULE_PAYEE, "Restaurants", True)]
    assert (result["noteTag"], result["noteTagged"]) == (TAG, len(approved))
    assert "1 rule created: Pizza Place → Restaurants" in applied["steps"][0]["summary"]

    # a fresh client with an empty data dir sees the categories, the tags and the rule
    after = server_state(actual_server, fid, tmp_path)
    for tx, cat in expected.items():
        assert after[tx][0] == cat
        assert after[tx][2] == f"{before[tx][2]} {TAG}"
    rules = fresh_rules(actual_server, fid, tmp_path)
    assert len(rules) == 1
    rule_id, conditions, actions = rules[0]
    assert rule_id == result["rules"][0]["ruleId"]
    assert household.payees[RULE_PAYEE] in conditions and '"description"' in conditions and '"is"' in conditions
    assert household.categories["Restaurants"] in actions and '"category"' in actions

    # a later import with that payee is categorized by the rule, as Actual's client imports
    from actual.queries import reconcile_transaction

    other_client = OtherClient(actual_server, fid, tmp_path)
    imported = reconcile_transaction(other_client.s, dt.date(2025, 2, 1), household.accounts["Checking"],
                                     payee=RULE_PAYEE, imported_payee="PIZZA PLACE #12",
                                     amount=decimal.Decimal("-12.50"), imported_id=f"imp-{uuid.uuid4().hex[:8]}")
    assert imported.category_id is None
    other_client.actual.run_rules([imported])
    imported_id = imported.id
    # ... and another client changes one applied transaction before the undo
    changed_tx = next(tx for tx in expected if tx != rejected["transactionId"])
    other_client.tx(changed_tx).category_id = household.categories["Utilities"]
    other_client.commit_and_close()
    state = server_state(actual_server, fid, tmp_path)
    assert state[imported_id][0] == household.categories["Restaurants"]

    undo = fleet.run(main, "suggestions-revert", fid, applyJobId=applied["job"]["id"])
    assert undo["job"]["status"] == "succeeded", undo
    assert steps_of(undo) == [("revert", "succeeded")]
    res = undo["steps"][0]["result"]
    assert res["restored"] == len(expected) - 1 and res["leftAlone"] == 1
    assert res["leftAloneTransactions"] == {changed_tx: "changed since the apply"}
    assert res["rulesRemoved"] == 1

    final = server_state(actual_server, fid, tmp_path)
    for tx in expected:
        if tx == changed_tx:
            assert final[tx][0] == household.categories["Utilities"]  # theirs, left alone
            assert final[tx][2] == f"{before[tx][2]} {TAG}"  # and its notes not touched either
        else:
            assert final[tx] == before[tx]  # category, tombstone, notes and amount exactly as before
    assert final[imported_id][0] == household.categories["Restaurants"]  # not ours to undo
    assert fresh_rules(actual_server, fid, tmp_path) == []
    again = fleet.api(main, "POST", "/api/jobs/suggestions-revert", {"budgetId": fid, "applyJobId": applied["job"]["id"]})
    assert again.status_code == 422 and again.json()["error"]["code"] == "nothing_to_undo"
    restored = {s["transactionId"] for s in suggestions(fleet, main, fid, "approved")}
    assert restored == set(expected) - {changed_tx}  # approved again, ready to apply another time

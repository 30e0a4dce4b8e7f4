"""A budget deleted on its server is flagged in GET /api/budgets and can be removed here (issue 16 item 6)."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from falcon import testing

from api.app import create_app
from budget.connector import ConnectorError
from budget.service import BudgetService
from models.domain import Budget, Suggestion
from models.jobs import Job

T0 = dt.datetime(2026, 3, 1, 9, 0)


class FakeServer:
    """The Actual server as BudgetService sees it: a list of files, or unreachable. Records every call."""

    def __init__(self, files):
        self.files = files
        self.down = False
        self.calls = []

    def __call__(self):  # the session provider
        return self

    def list_budget_files(self):
        self.calls.append("list_budget_files")
        if self.down:
            raise ConnectorError("Cannot reach the Actual server at http://127.0.0.1:9", transient=True,
                                 code="actual_unreachable")
        return list(self.files)

    def __getattr__(self, name):  # anything else would be a write: fail loudly
        raise AssertionError(f"the removal called {name} on the server")


def add_budget(budget_id, connector="actual", name=None):
    return Budget.create(id=budget_id, name=name or budget_id, connector=connector, seed=0, options={}, created_at=T0)


def add_suggestion(budget_id, n):
    Suggestion.create(id=f"{budget_id}-s{n}", budget_id=budget_id, transaction_id=f"t{n}", payee_name="Shop",
                      payee_key="shop", amount=-100, date=dt.date(2026, 1, n + 1), account_name="Checking",
                      proposed_category_id="c1", proposed_category_name="Groceries", confidence=0.9,
                      rationale="same payee", status="approved" if n % 2 else "pending", created_at=T0,
                      updated_at=T0, open=True)


@pytest.fixture()
def server():
    return FakeServer([("file-here", "Still here")])


@pytest.fixture()
def api(services, server, config):
    add_budget("file-here", name="Old name")
    add_budget("file-gone", name="Deleted elsewhere")
    for n in range(3):
        add_suggestion("file-gone", n)
    add_suggestion("file-here", 0)
    copy = config.data_dir / "budgets" / "file-gone"
    copy.mkdir(parents=True)
    (copy / "db.sqlite").write_bytes(b"working copy")
    with_server = dataclasses.replace(services, budgets=BudgetService(actual_session=server))
    return testing.TestClient(create_app(with_server), headers={"Host": "localhost", "Content-Type": "application/json"})


def listed(api):
    return {b["id"]: b for b in api.simulate_get("/api/budgets").json["budgets"]}


def test_a_budget_the_server_no_longer_has_is_flagged_and_removable(api):
    budgets = listed(api)
    assert (budgets["file-gone"]["deletedOnServer"], budgets["file-gone"]["removable"]) == (True, True)
    assert (budgets["file-here"]["deletedOnServer"], budgets["file-here"]["removable"]) == (False, False)
    assert budgets["file-here"]["name"] == "Still here"
    assert (budgets["demo"]["deletedOnServer"], budgets["demo"]["removable"]) == (False, False)


def test_removing_it_drops_its_suggestions_and_working_copy_and_never_writes_to_the_server(api, server, config):
    resp = api.simulate_delete("/api/budgets/file-gone")
    assert resp.status_code == 200, resp.text
    assert resp.json["budget"]["id"] == "file-gone"
    assert (resp.json["droppedSuggestions"], resp.json["workingCopyRemoved"]) == (3, True)
    assert not (config.data_dir / "budgets" / "file-gone").exists()
    assert Budget.get_or_none(Budget.id == "file-gone") is None
    assert Suggestion.select().where(Suggestion.budget_id == "file-gone").count() == 0
    assert Suggestion.select().where(Suggestion.budget_id == "file-here").count() == 1  # others keep theirs
    assert "file-gone" not in listed(api)
    assert set(server.calls) == {"list_budget_files"}  # only asked whether the file is still there
    assert api.simulate_delete("/api/budgets/file-gone").status_code == 404


def test_not_while_a_job_of_it_is_queued_or_running(api, services, config):
    job = services.jobs.create("budget_sync", "file-gone").job
    resp = api.simulate_delete("/api/budgets/file-gone")
    assert resp.status_code == 409 and resp.json["error"]["code"] == "budget_busy", resp.text
    assert "queued" in resp.json["error"]["message"]
    assert Suggestion.select().where(Suggestion.budget_id == "file-gone").count() == 3
    assert (config.data_dir / "budgets" / "file-gone" / "db.sqlite").exists()
    services.jobs.claim(job.id, "w")
    assert api.simulate_delete("/api/budgets/file-gone").status_code == 409  # running
    services.jobs.fail(job.id, None, "No budget file with this id on the Actual server")
    assert api.simulate_delete("/api/budgets/file-gone").status_code == 200
    assert Job.get_by_id(job.id).status == "failed"  # the job history stays


def test_a_budget_still_on_the_server_or_the_built_in_demo_is_not_removed(api):
    here = api.simulate_delete("/api/budgets/file-here")
    assert here.status_code == 409 and here.json["error"]["code"] == "budget_on_server"
    demo = api.simulate_delete("/api/budgets/demo")
    assert demo.status_code == 409 and demo.json["error"]["code"] == "built_in_budget"
    assert api.simulate_delete("/api/budgets/nope").status_code == 404
    assert {"file-here", "demo"} <= set(listed(api))


def test_an_unreachable_server_cannot_confirm_the_deletion(api, server):
    server.down = True
    resp = api.simulate_delete("/api/budgets/file-gone")
    assert resp.status_code == 503 and resp.json["error"]["code"] == "actual_unreachable"
    assert Budget.get_or_none(Budget.id == "file-gone") is not None
    assert Suggestion.select().where(Suggestion.budget_id == "file-gone").count() == 3


def test_a_demo_budget_a_user_added_can_be_removed(client, config, orchestrator):
    budget = client.simulate_post("/api/budgets", json={"name": "Try-out"}).json["budget"]
    assert budget["removable"] is True and budget["deletedOnServer"] is False
    job = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": budget["id"]}).json["job"]
    assert orchestrator.run(job["id"]).status == "succeeded"
    assert (config.data_dir / "demo" / budget["id"]).exists()
    resp = client.simulate_delete(f"/api/budgets/{budget['id']}")
    assert resp.status_code == 200 and resp.json["droppedSuggestions"] > 0
    assert not (config.data_dir / "demo" / budget["id"]).exists()
    assert budget["id"] not in {b["id"] for b in client.simulate_get("/api/budgets").json["budgets"]}


@pytest.mark.parametrize("ttl,lists", [(30.0, 1), (0.0, 3)])
def test_the_servers_file_list_is_asked_again_only_after_actual_list_seconds(services, server, ttl, lists):
    budgets = BudgetService(actual_session=server, list_ttl_seconds=ttl)
    for _ in range(3):
        assert "file-here" in {row["id"] for row in budgets.list()}
    assert server.calls == ["list_budget_files"] * lists

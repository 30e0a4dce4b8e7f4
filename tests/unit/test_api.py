"""The HTTP API through falcon.testing.TestClient: status codes, bodies, headers, errors."""
from __future__ import annotations

import json

import pytest

from jobs.registry import DEFAULT_TYPES
from models.jobs import Job
from tests.unit.review_helpers import finished_apply_job

KINDS = {t.kind: t for t in DEFAULT_TYPES if t.kind}


def error_of(resp, status, *, code=None, field=None):
    """Assert an error response in the house shape and return its `error` object."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json
    assert set(body) == {"error"}
    err = body["error"]
    assert {"code", "message"} <= set(err) <= {"code", "message", "field"}
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    assert "Traceback" not in err["message"]
    if code is not None:
        assert err["code"] == code
    if field is not None:
        assert err.get("field") == field
    return err


def post_job(client, kind, body=None, **kwargs):
    return client.simulate_post(f"/api/jobs/{kind}", json={"budgetId": "demo"} if body is None else body, **kwargs)


@pytest.fixture()
def suggestions(client, orchestrator):
    """Pending suggestions of the demo budget, made by a real sync-and-suggest job."""
    job_id = post_job(client, "sync-and-suggest").json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    rows = client.simulate_get("/api/suggestions", params={"budgetId": "demo", "status": "pending"}).json["suggestions"]
    assert len(rows) >= 3
    return rows


@pytest.fixture()
def finished_job(client, services):
    job_id = post_job(client, "budget-sync").json["job"]["id"]
    services.jobs.cancel(job_id)
    return job_id


# ------------------------------------------------------------------ health and budgets
def test_health(client):
    resp = client.simulate_get("/api/health")
    assert resp.status_code == 200 and resp.json["status"] == "ok"


def test_budgets_list_has_the_demo_budget(client):
    resp = client.simulate_get("/api/budgets")
    assert resp.status_code == 200
    assert [(b["id"], b["connector"]) for b in resp.json["budgets"]] == [("demo", "demo")]


def test_create_a_demo_budget(client):
    resp = client.simulate_post("/api/budgets", json={"name": "Second household", "connector": "demo"})
    assert resp.status_code == 201
    budget = resp.json["budget"]
    assert budget["name"] == "Second household" and budget["connector"] == "demo" and budget["id"] != "demo"
    assert resp.headers["location"] == f"/api/budgets/{budget['id']}"
    listed = client.simulate_get("/api/budgets").json["budgets"]
    assert budget["id"] in {b["id"] for b in listed}
    assert post_job(client, "budget-sync", {"budgetId": budget["id"]}).status_code == 201


@pytest.mark.parametrize("body,field", [
    ({"name": "x", "connector": "actual"}, "connector"),
    ({"name": "x", "connector": 5}, "connector"),
    ({"connector": "demo"}, "name"),
    ({"name": ""}, "name"),
    ({"name": 7}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "x", "failOn": "everything"}, "failOn"),
    ({"name": "x", "colour": "blue"}, "colour"),
])
def test_create_budget_rejects_bad_fields(client, body, field):
    error_of(client.simulate_post("/api/budgets", json=body), 422, field=field)
    assert len(client.simulate_get("/api/budgets").json["budgets"]) == 1


def test_job_types_lists_the_eight_types(client):
    types = client.simulate_get("/api/job-types").json["jobTypes"]
    assert [(t["type"], t["label"], t["steps"], t["kind"]) for t in types] == [
        (t.name, t.label, list(t.steps), t.kind) for t in DEFAULT_TYPES]


def test_job_types_declare_their_inputs_and_step_labels(client):
    types = {t["type"]: t for t in client.simulate_get("/api/job-types").json["jobTypes"]}
    sync_and_suggest = types["sync_and_suggest"]
    assert sync_and_suggest["primary"] is True
    assert sync_and_suggest["stepLabels"] == ["Sync transactions", "Generate suggestions"]
    assert sync_and_suggest["inputs"] == [
        {"name": "budgetId", "type": "string", "required": True, "default": None, "label": "Budget"},
        {"name": "fullResync", "type": "boolean", "required": False, "default": False, "label": "Full resync"}]
    assert [i["name"] for i in types["suggestions_apply"]["inputs"]] == ["budgetId", "suggestionIds"]
    assert [t for t, jt in types.items() if jt["primary"]] == ["sync_and_suggest"]
    assert types["scheduled_sync_and_suggest"]["inputs"] == []


# ------------------------------------------------------------------ creating jobs
def kind_body(kind, suggestions, client):
    body = {"budgetId": "demo"}
    if kind == "sync-and-suggest":
        body["fullResync"] = True
    elif kind == "suggestions-retry":
        body["suggestionId"] = suggestions[0]["id"]
    elif kind == "suggestions-apply":
        client.simulate_post(f"/api/suggestions/{suggestions[1]['id']}/approve")
        body["suggestionIds"] = [suggestions[1]["id"]]
    elif kind == "suggestions-revert":
        body["applyJobId"] = finished_apply_job()
    return body


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_creates_a_queued_job_with_label_steps_and_location(client, queue, suggestions, kind):
    job_type = KINDS[kind]
    queue.enqueued.clear()
    resp = post_job(client, kind, kind_body(kind, suggestions, client))
    assert resp.status_code == 201, resp.text
    job, steps = resp.json["job"], resp.json["steps"]
    assert "deduplicated" not in resp.json
    assert resp.headers["location"] == f"/api/jobs/{job['id']}"
    assert (job["type"], job["label"], job["status"], job["budgetId"], job["trigger"]) == (
        job_type.name, job_type.label, "queued", "demo", "user")
    assert [(s["stepType"], s["position"], s["status"]) for s in steps] == [
        (name, i, "pending") for i, name in enumerate(job_type.steps)]
    assert queue.enqueued == [(job["id"], 0.0)]
    assert client.simulate_get(resp.headers["location"]).json["job"]["id"] == job["id"]


def test_job_metadata_carries_the_request_options(client, suggestions):
    full = post_job(client, "sync-and-suggest", {"budgetId": "demo", "fullResync": True}).json["job"]
    assert full["metadata"] == {"fullResync": True}
    retry = post_job(client, "suggestions-retry", {"budgetId": "demo", "suggestionId": suggestions[0]["id"]})
    assert retry.json["job"]["metadata"]["suggestionId"] == suggestions[0]["id"]
    assert retry.json["job"]["metadata"]["payeeName"] == suggestions[0]["payeeName"]


def test_retries_of_one_payee_group_share_a_job_and_other_groups_get_their_own(client, suggestions):
    by_payee = {}
    for s in suggestions:
        by_payee.setdefault(s["payeeKey"], []).append(s["id"])
    groups = list(by_payee.values())
    assert len(groups) >= 2
    first = post_job(client, "suggestions-retry", {"budgetId": "demo", "suggestionId": groups[0][0]})
    same = post_job(client, "suggestions-retry", {"budgetId": "demo", "suggestionId": groups[0][-1]})
    other = post_job(client, "suggestions-retry", {"budgetId": "demo", "suggestionId": groups[1][0]})
    assert (first.status_code, same.status_code, other.status_code) == (201, 200, 201)
    assert same.json["job"]["id"] == first.json["job"]["id"] != other.json["job"]["id"]


@pytest.mark.parametrize("kind,field,value", [
    ("budget-sync", "fullResync", True),
    ("snapshot-create", "suggestionIds", ["x"]),
    ("sync-and-suggest", "suggestionId", "x"),
])
def test_a_field_another_kind_takes_is_unknown_to_this_one(client, kind, field, value):
    error_of(post_job(client, kind, {"budgetId": "demo", field: value}), 422, field=field, code="unknown_field")
    assert Job.select().count() == 0


def test_a_second_request_while_active_returns_the_same_job(client):
    first = post_job(client, "budget-sync")
    second = post_job(client, "budget-sync")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["deduplicated"] is True
    assert second.json["job"]["id"] == first.json["job"]["id"]
    assert second.headers["location"] == first.headers["location"]
    assert Job.select().count() == 1


def test_a_new_job_is_created_once_the_first_finished(client, finished_job):
    resp = post_job(client, "budget-sync")
    assert resp.status_code == 201 and resp.json["job"]["id"] != finished_job


# ------------------------------------------------------------------ request errors
def test_malformed_json_is_400(client):
    resp = client.simulate_post("/api/jobs/budget-sync", body=b'{"budgetId": "demo"',
                                headers={"Content-Type": "application/json"})
    error_of(resp, 400, code="malformed_json")
    assert Job.select().count() == 0


def test_a_body_over_64_kib_is_413(client):
    body = json.dumps({"budgetId": "demo", "pad": "x" * (64 * 1024)}).encode()
    error_of(client.simulate_post("/api/jobs/budget-sync", body=body,
                                  headers={"Content-Type": "application/json"}), 413)
    assert Job.select().count() == 0


def test_a_body_just_under_64_kib_is_read(client):
    padding = 64 * 1024 - len(json.dumps({"budgetId": "demo", "pad": ""})) - 1
    body = json.dumps({"budgetId": "demo", "pad": "x" * padding}).encode()
    assert len(body) < 64 * 1024
    error_of(client.simulate_post("/api/jobs/budget-sync", body=body), 422, field="pad", code="unknown_field")


@pytest.mark.parametrize("body,field,code", [
    ({}, "budgetId", "missing_field"),
    ({"budgetId": 42}, "budgetId", "invalid_type"),
    ({"budgetId": ["demo"]}, "budgetId", "invalid_type"),
    ({"budgetId": ""}, "budgetId", "invalid_type"),
    ({"budgetId": "no-such-budget"}, "budgetId", "unknown_budget"),
    ({"budgetId": "demo", "fullResync": "yes"}, "fullResync", "invalid_type"),
    ({"budgetId": "demo", "colour": "blue"}, "colour", "unknown_field"),
])
def test_invalid_job_bodies_are_422_naming_the_field(client, body, field, code):
    error_of(post_job(client, "sync-and-suggest", body), 422, field=field, code=code)
    assert Job.select().count() == 0


@pytest.mark.parametrize("raw", [b"[1, 2]", b"null", b"\"demo\"", b""])
def test_a_body_that_is_not_a_json_object_is_422(client, raw):
    error_of(client.simulate_post("/api/jobs/budget-sync", body=raw), 422, field="body")


def test_suggestions_retry_needs_a_known_suggestion_of_the_budget(client, suggestions):
    error_of(post_job(client, "suggestions-retry"), 422, field="suggestionId")
    error_of(post_job(client, "suggestions-retry", {"budgetId": "demo", "suggestionId": "nope"}),
             422, field="suggestionId", code="unknown_suggestion")
    other = client.simulate_post("/api/budgets", json={"name": "Other"}).json["budget"]["id"]
    error_of(post_job(client, "suggestions-retry", {"budgetId": other, "suggestionId": suggestions[0]["id"]}),
             422, field="suggestionId")


def test_suggestions_apply_needs_approved_suggestions_of_the_budget(client, suggestions):
    pending = suggestions[0]["id"]
    error_of(post_job(client, "suggestions-apply"), 422, field="suggestionIds")
    error_of(post_job(client, "suggestions-apply", {"budgetId": "demo", "suggestionIds": []}), 422, field="suggestionIds")
    err = error_of(post_job(client, "suggestions-apply", {"budgetId": "demo", "suggestionIds": [pending]}),
                   422, field="suggestionIds")
    assert "not approved" in err["message"]
    error_of(post_job(client, "suggestions-apply", {"budgetId": "demo", "suggestionIds": ["nope"]}),
             422, field="suggestionIds")
    client.simulate_post(f"/api/suggestions/{pending}/approve")
    assert post_job(client, "suggestions-apply", {"budgetId": "demo", "suggestionIds": [pending]}).status_code == 201


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("limit=-1", "limit"),
    ("status=done", "status"), ("type=nope", "type"), ("cursor=not-a-cursor", "cursor"),
])
def test_invalid_list_queries_are_422_naming_the_field(client, query, field):
    error_of(client.simulate_get("/api/jobs", query_string=query), 422, field=field)


@pytest.mark.parametrize("limit", ["1", "100"])
def test_the_limit_bounds_are_accepted(client, limit):
    assert client.simulate_get("/api/jobs", query_string=f"limit={limit}").status_code == 200


def test_unknown_job_id_is_404(client):
    error_of(client.simulate_get("/api/jobs/no-such-job"), 404, code="not_found")
    error_of(client.simulate_post("/api/jobs/no-such-job/cancel"), 404, code="not_found")


def test_unknown_kind_is_404(client):
    error_of(post_job(client, "budget-explode"), 404, code="not_found")
    error_of(post_job(client, "scheduled-sync-and-suggest"), 404)
    assert Job.select().count() == 0


def test_unknown_paths_and_methods_answer_in_the_error_shape(client):
    error_of(client.simulate_get("/api/nothing-here"), 404)
    error_of(client.simulate_delete("/api/jobs"), 405)


# ------------------------------------------------------------------ cancel
def test_cancel_a_queued_job(client):
    job_id = post_job(client, "sync-and-suggest").json["job"]["id"]
    resp = client.simulate_post(f"/api/jobs/{job_id}/cancel")
    assert resp.status_code == 200
    assert resp.json["job"]["status"] == "canceled" and resp.json["job"]["completedAt"] is not None
    assert [s["status"] for s in resp.json["steps"]] == ["canceled", "canceled"]


def test_cancel_of_a_finished_job_is_409(client, finished_job):
    err = error_of(client.simulate_post(f"/api/jobs/{finished_job}/cancel"), 409, code="invalid_transition")
    assert "canceled" in err["message"]


def test_cancel_of_a_running_job_is_recorded_as_requested(client, services):
    job_id = post_job(client, "budget-sync").json["job"]["id"]
    services.jobs.claim(job_id, "w")
    resp = client.simulate_post(f"/api/jobs/{job_id}/cancel")
    assert resp.status_code == 200
    assert (resp.json["job"]["status"], resp.json["job"]["cancelRequested"]) == ("running", True)


# ------------------------------------------------------------------ list and detail
def test_list_filters_by_type_status_and_budget(client):
    sync = post_job(client, "budget-sync").json["job"]["id"]
    snap = post_job(client, "snapshot-create").json["job"]["id"]
    other_budget = client.simulate_post("/api/budgets", json={"name": "Other"}).json["budget"]["id"]
    other = post_job(client, "budget-sync", {"budgetId": other_budget}).json["job"]["id"]
    client.simulate_post(f"/api/jobs/{snap}/cancel")

    def ids(**params):
        resp = client.simulate_get("/api/jobs", params=params)
        assert resp.status_code == 200
        return [j["id"] for j in resp.json["jobs"]]

    assert ids() == [other, snap, sync]
    assert set(ids(type="budget_sync")) == {sync, other}
    assert ids(status="canceled") == [snap]
    assert set(ids(status="queued")) == {sync, other}
    assert set(ids(budgetId="demo")) == {sync, snap}
    assert ids(budgetId="demo", type="budget_sync", status="queued") == [sync]
    assert ids(status="succeeded") == []


def test_list_pages_with_a_cursor(client, services):
    created = [services.jobs.create("budget_sync", f"budget-{i}").job.id for i in range(5)]
    first = client.simulate_get("/api/jobs", params={"limit": 2}).json
    assert len(first["jobs"]) == 2 and first["nextCursor"]
    second = client.simulate_get("/api/jobs", params={"limit": 2, "cursor": first["nextCursor"]}).json
    third = client.simulate_get("/api/jobs", params={"limit": 2, "cursor": second["nextCursor"]}).json
    assert third["nextCursor"] is None
    seen = [j["id"] for page in (first, second, third) for j in page["jobs"]]
    assert len(seen) == 5 and set(seen) == set(created)
    stamps = [j["createdAt"] for page in (first, second, third) for j in page["jobs"]]
    assert stamps == sorted(stamps, reverse=True)
    assert seen == list(reversed(created))


def test_list_default_limit_is_20(client, services):
    for i in range(21):
        services.jobs.create("budget_sync", f"budget-{i}")
    body = client.simulate_get("/api/jobs").json
    assert len(body["jobs"]) == 20 and body["nextCursor"]


def test_detail_has_job_steps_and_events(client, orchestrator):
    job_id = post_job(client, "budget-sync").json["job"]["id"]
    orchestrator.run(job_id)
    body = client.simulate_get(f"/api/jobs/{job_id}").json
    assert body["job"]["status"] == "succeeded" and body["job"]["label"] == "Sync Budget"
    assert body["job"]["startedAt"] and body["job"]["completedAt"]
    (step,) = body["steps"]
    assert step["status"] == "succeeded" and step["label"] == "Sync transactions" and step["result"]["new"] > 0
    assert step["summary"] == f"{step['result']['new']:,} new transactions, 0 changed ({step['result']['total']:,} in total)"
    assert [e["status"] for e in body["events"]] == ["queued", "running", "running", "succeeded", "succeeded"]
    assert body["events"][0]["message"] == "Sync Budget queued by a user"
    assert all(e["jobId"] == job_id for e in body["events"])


def test_a_failed_job_shows_its_reason_over_http(client, orchestrator, faults):
    broken = client.simulate_post("/api/budgets", json={"name": "Broken"}).json["budget"]["id"]
    faults(broken, fail_on={"pull_latest": "Bank feed down"})
    job_id = post_job(client, "sync-and-suggest", {"budgetId": broken}).json["job"]["id"]
    orchestrator.run(job_id)
    body = client.simulate_get(f"/api/jobs/{job_id}").json
    assert (body["job"]["status"], body["job"]["failureReason"]) == ("failed", "Bank feed down")
    assert [(s["status"], s["failureReason"]) for s in body["steps"]] == [
        ("failed", "Bank feed down"), ("canceled", "Canceled because step 'Sync transactions' failed")]
    assert [s["summary"] for s in body["steps"]] == [None, None]


# ------------------------------------------------------------------ ETags
def test_list_etag_gives_304_until_something_changes(client):
    job_id = post_job(client, "budget-sync").json["job"]["id"]
    first = client.simulate_get("/api/jobs")
    etag = first.headers["etag"]
    again = client.simulate_get("/api/jobs", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.text == ""
    assert again.headers["etag"] == etag
    client.simulate_post(f"/api/jobs/{job_id}/cancel")
    changed = client.simulate_get("/api/jobs", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["jobs"][0]["status"] == "canceled"
    assert changed.headers["etag"] != etag


def test_list_etag_changes_when_a_job_is_added(client):
    post_job(client, "budget-sync")
    etag = client.simulate_get("/api/jobs").headers["etag"]
    post_job(client, "snapshot-create")
    assert client.simulate_get("/api/jobs", headers={"If-None-Match": etag}).status_code == 200


def test_detail_etag_gives_304_until_the_job_changes(client, services):
    job_id = post_job(client, "budget-sync").json["job"]["id"]
    etag = client.simulate_get(f"/api/jobs/{job_id}").headers["etag"]
    assert client.simulate_get(f"/api/jobs/{job_id}", headers={"If-None-Match": etag}).status_code == 304
    services.jobs.claim(job_id, "w")
    changed = client.simulate_get(f"/api/jobs/{job_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["job"]["status"] == "running"
    etag2 = changed.headers["etag"]
    assert client.simulate_get(f"/api/jobs/{job_id}", headers={"If-None-Match": etag2}).status_code == 304
    step = services.job_queries.steps(job_id)[0]
    services.jobs.progress(job_id, step.id, 50, 100)
    progressed = client.simulate_get(f"/api/jobs/{job_id}", headers={"If-None-Match": etag2})
    assert progressed.status_code == 200 and progressed.json["steps"][0]["progressDone"] == 50


def test_detail_etag_changes_when_an_event_is_added(client, services):
    """A new event is part of the detail: a poller holding the old ETag must see it."""
    job_id = post_job(client, "budget-sync").json["job"]["id"]
    etag = client.simulate_get(f"/api/jobs/{job_id}").headers["etag"]
    job = services.job_queries.get(job_id)
    assert services.jobs.mark_reenqueued(job_id, job.enqueued_at) is True
    resp = client.simulate_get(f"/api/jobs/{job_id}", headers={"If-None-Match": etag})
    assert resp.status_code == 200, "the detail changed (a new event) but the ETag did not"
    assert resp.json["events"][-1]["message"] == "Its task was lost; enqueued again"


def test_a_stale_etag_is_not_matched_for_another_job(client):
    a = post_job(client, "budget-sync").json["job"]["id"]
    b = post_job(client, "snapshot-create").json["job"]["id"]
    etag = client.simulate_get(f"/api/jobs/{a}").headers["etag"]
    assert client.simulate_get(f"/api/jobs/{b}", headers={"If-None-Match": etag}).status_code == 200


# ------------------------------------------------------------------ suggestions
def test_suggestions_list_has_the_api_fields(client, suggestions):
    s = suggestions[0]
    assert {"id", "budgetId", "transactionId", "payeeName", "amount", "date", "accountName", "proposedCategoryId",
            "proposedCategoryName", "confidence", "rationale", "status", "jobId", "createdAt"} <= set(s)
    assert s["budgetId"] == "demo" and s["status"] == "pending" and 0 <= s["confidence"] <= 1
    keys = [x["payeeKey"] for x in suggestions]
    assert keys == sorted(keys)  # grouped by payee


def test_approve_and_reject_one_suggestion(client, suggestions):
    a, b = suggestions[0]["id"], suggestions[1]["id"]
    approved = client.simulate_post(f"/api/suggestions/{a}/approve")
    assert approved.status_code == 200 and approved.json["suggestion"]["status"] == "approved"
    rejected = client.simulate_post(f"/api/suggestions/{b}/reject")
    assert rejected.status_code == 200 and rejected.json["suggestion"]["status"] == "rejected"
    listed = client.simulate_get("/api/suggestions", params={"status": "approved"}).json["suggestions"]
    assert [s["id"] for s in listed] == [a]
    assert client.simulate_post(f"/api/suggestions/{a}/approve").status_code == 200  # approving twice is fine


def test_approve_and_reject_in_bulk(client, suggestions):
    ids = [s["id"] for s in suggestions[:3]]
    resp = client.simulate_post("/api/suggestions/approve", json={"suggestionIds": ids})
    assert resp.status_code == 200
    assert [(s["id"], s["status"]) for s in resp.json["suggestions"]] == [(i, "approved") for i in ids]
    resp = client.simulate_post("/api/suggestions/reject", json={"suggestionIds": ids[:2]})
    assert [s["status"] for s in resp.json["suggestions"]] == ["rejected", "rejected"]


def test_bulk_review_with_an_unknown_id_changes_nothing(client, suggestions):
    ids = [suggestions[0]["id"], "nope"]
    error_of(client.simulate_post("/api/suggestions/approve", json={"suggestionIds": ids}), 422, field="suggestionIds")
    assert client.simulate_get("/api/suggestions", params={"status": "approved"}).json["suggestions"] == []


def test_review_errors(client, suggestions):
    error_of(client.simulate_post("/api/suggestions/nope/approve"), 404)
    error_of(client.simulate_post("/api/suggestions/approve", json={}), 422, field="suggestionIds")
    error_of(client.simulate_post("/api/suggestions/approve", json={"suggestionIds": [1]}), 422, field="suggestionIds")
    error_of(client.simulate_post("/api/suggestions/reject", body=b"{oops"), 400)
    error_of(client.simulate_get("/api/suggestions", params={"status": "maybe"}), 422, field="status")


def test_an_applied_suggestion_cannot_be_reviewed_again(client, suggestions, orchestrator):
    sid = suggestions[0]["id"]
    client.simulate_post(f"/api/suggestions/{sid}/approve")
    job_id = post_job(client, "suggestions-apply", {"budgetId": "demo", "suggestionIds": [sid]}).json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    assert client.simulate_get("/api/suggestions", params={"status": "applied"}).json["suggestions"][0]["id"] == sid
    error_of(client.simulate_post(f"/api/suggestions/{sid}/reject"), 409, code="invalid_transition")


# ------------------------------------------------------------------ idempotency
def test_same_idempotency_key_and_body_return_the_same_job(client, services):
    headers = {"Idempotency-Key": "req-1"}
    first = post_job(client, "budget-sync", headers=headers)
    assert first.status_code == 201
    services.jobs.cancel(first.json["job"]["id"])  # finished: only the key can find it again
    again = post_job(client, "budget-sync", headers=headers)
    assert again.status_code in (200, 201)
    assert again.json["job"]["id"] == first.json["job"]["id"]
    assert Job.select().count() == 1


def test_same_idempotency_key_with_another_body_is_422(client):
    headers = {"Idempotency-Key": "req-2"}
    assert post_job(client, "snapshot-create", headers=headers).status_code == 201
    error_of(post_job(client, "snapshot-create", {"budgetId": "demo", "pad": 1}, headers=headers), 422)
    error_of(post_job(client, "budget-sync", headers=headers), 422, field="Idempotency-Key",
             code="idempotency_key_reused")
    assert Job.select().count() == 1


def test_different_idempotency_keys_are_independent(client, services):
    a = post_job(client, "budget-sync", headers={"Idempotency-Key": "a"}).json["job"]["id"]
    services.jobs.cancel(a)
    b = post_job(client, "budget-sync", headers={"Idempotency-Key": "b"})
    assert b.status_code == 201 and b.json["job"]["id"] != a


# ------------------------------------------------------------------ never a 500
@pytest.mark.parametrize("method,path,body", [
    ("POST", "/api/jobs/budget-sync", b"\xff\xfe\x00"),
    ("POST", "/api/jobs/budget-sync", b"{\"budgetId\": {\"$gt\": 1}}"),
    ("POST", "/api/jobs/budget-sync", b"{\"budgetId\": \"" + b"d" * 5000 + b"\"}"),
    ("POST", "/api/jobs/suggestions-apply", b"{\"budgetId\": \"demo\", \"suggestionIds\": [null]}"),
    ("POST", "/api/jobs/suggestions-apply", b"{\"budgetId\": \"demo\", \"suggestionIds\": {\"a\": 1}}"),
    ("POST", "/api/jobs/suggestions-retry", b"{\"budgetId\": \"demo\", \"suggestionId\": []}"),
    ("POST", "/api/budgets", b"{\"name\": \"x\", \"failOn\": {\"pull_latest\": 3}}"),
    ("POST", "/api/suggestions/approve", b"{\"suggestionIds\": \"abc\"}"),
    ("GET", "/api/jobs?cursor=%ff%fe", None),
    ("GET", "/api/jobs?cursor=MjAyNnxhYmM", None),
    ("GET", "/api/jobs?limit=99999999999999999999999", None),
    ("POST", "/api/jobs/budget-sync/cancel", None),
])
def test_bad_input_never_gives_a_500(client, method, path, body):
    path, _, query = path.partition("?")
    resp = client.simulate_request(method, path, query_string=query or None, body=body)
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        error_of(resp, resp.status_code)

"""GET /api/budgets/{id}/snapshots and GET /api/snapshots/{id}/file through the TestClient."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from models.domain import Snapshot
from tests.unit.test_api import error_of, post_job
from tests.unit.test_openapi import Checker


@pytest.fixture()
def snapshot_job(client, orchestrator):
    """A Create Snapshot job of the demo budget, run to the end; returns its id."""
    job_id = post_job(client, "snapshot-create").json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    return job_id


@pytest.fixture()
def check(client):
    return Checker(client.simulate_get("/api/openapi.json").json)


def test_a_budget_without_snapshots_lists_none(client, check):
    resp = client.simulate_get("/api/budgets/demo/snapshots")
    assert resp.status_code == 200 and resp.json == {"snapshots": []}
    check("/api/budgets/{budgetId}/snapshots", "get", resp)


def test_a_snapshot_job_adds_a_snapshot_that_names_its_job(client, check, snapshot_job):
    resp = client.simulate_get("/api/budgets/demo/snapshots")
    assert resp.status_code == 200
    check("/api/budgets/{budgetId}/snapshots", "get", resp)
    (snap,) = resp.json["snapshots"]
    assert snap["budgetId"] == "demo" and snap["jobId"] == snapshot_job
    assert (snap["jobType"], snap["jobLabel"], snap["jobTrigger"]) == ("snapshot_create", "Create Snapshot", "user")
    assert snap["transactions"] > 0 and snap["categories"] > 0 and snap["sizeBytes"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", snap["createdAt"])
    assert snap["fileUrl"] == f"/api/snapshots/{snap['id']}/file"
    step = client.simulate_get(f"/api/jobs/{snapshot_job}").json["steps"][0]
    assert step["result"]["snapshotId"] == snap["id"]


def test_snapshots_are_listed_newest_first_and_per_budget(client, orchestrator, snapshot_job):
    other = client.simulate_post("/api/budgets", json={"name": "Other"}).json["budget"]["id"]
    other_job = post_job(client, "snapshot-create", {"budgetId": other}).json["job"]["id"]
    assert orchestrator.run(other_job).status == "succeeded"
    second = post_job(client, "snapshot-create").json["job"]["id"]
    assert orchestrator.run(second).status == "succeeded"
    listed = client.simulate_get("/api/budgets/demo/snapshots").json["snapshots"]
    assert [s["jobId"] for s in listed] == [second, snapshot_job]
    assert [s["jobId"] for s in client.simulate_get(f"/api/budgets/{other}/snapshots").json["snapshots"]] == [other_job]
    assert len(client.simulate_get("/api/budgets/demo/snapshots", params={"limit": 1}).json["snapshots"]) == 1


def test_a_snapshot_whose_job_was_purged_still_lists_without_a_label(client, snapshot_job):
    from models.jobs import Job, JobEvent, JobStep

    JobEvent.delete().where(JobEvent.job == snapshot_job).execute()
    JobStep.delete().where(JobStep.job == snapshot_job).execute()
    Job.delete().where(Job.id == snapshot_job).execute()
    (snap,) = client.simulate_get("/api/budgets/demo/snapshots").json["snapshots"]
    assert snap["jobId"] == snapshot_job and snap["jobLabel"] is None and snap["jobTrigger"] is None


def test_the_file_downloads_as_an_sqlite_database_with_a_safe_name(client, snapshot_job, tmp_path):
    snap = client.simulate_get("/api/budgets/demo/snapshots").json["snapshots"][0]
    resp = client.simulate_get(snap["fileUrl"])
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/vnd.sqlite3"
    assert resp.headers["x-content-type-options"] == "nosniff"
    disposition = resp.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="Demo-Household-snapshot-\d{4}-\d\d-\d\d-\d{6}\.sqlite"', disposition)
    assert int(resp.headers["content-length"]) == len(resp.content) == snap["sizeBytes"]
    path = tmp_path / "downloaded.sqlite"
    path.write_bytes(resp.content)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables


def test_a_budget_name_cannot_steer_the_file_name(client, orchestrator):
    budget = client.simulate_post("/api/budgets", json={"name": '../../etc/"passwd";\r\nX: ü'}).json["budget"]["id"]
    job_id = post_job(client, "snapshot-create", {"budgetId": budget}).json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    snap = client.simulate_get(f"/api/budgets/{budget}/snapshots").json["snapshots"][0]
    disposition = client.simulate_get(snap["fileUrl"]).headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="etc-passwd-X-snapshot-[\d-]+\.sqlite"', disposition), disposition


def test_unknown_budget_and_snapshot_are_404_json(client, check):
    resp = client.simulate_get("/api/budgets/no-such-budget/snapshots")
    error_of(resp, 404, code="budget_not_found")
    check("/api/budgets/{budgetId}/snapshots", "get", resp)
    resp = client.simulate_get("/api/snapshots/no-such-snapshot/file")
    error_of(resp, 404, code="snapshot_not_found")
    check("/api/snapshots/{id}/file", "get", resp)
    for probe in ("..%2F..%2Fapp.db", "%2Fetc%2Fpasswd"):
        error_of(client.simulate_get(f"/api/snapshots/{probe}/file"), 404)


def test_a_bad_limit_is_422(client):
    error_of(client.simulate_get("/api/budgets/demo/snapshots", params={"limit": 0}), 422, field="limit")


def test_a_snapshot_file_outside_the_snapshots_folder_is_never_served(client, services, snapshot_job, tmp_path):
    outside = tmp_path / "elsewhere.sqlite"
    outside.write_bytes(b"SQLite format 3\x00secret")
    (snap,) = Snapshot.select().where(Snapshot.job_id == snapshot_job)
    Snapshot.update(path=str(outside)).where(Snapshot.id == snap.id).execute()
    error_of(client.simulate_get(f"/api/snapshots/{snap.id}/file"), 404, code="snapshot_file_missing")
    Snapshot.update(path=str(services.config.data_dir / "snapshots" / "demo" / "..") + "/../app.db") \
        .where(Snapshot.id == snap.id).execute()
    error_of(client.simulate_get(f"/api/snapshots/{snap.id}/file"), 404, code="snapshot_file_missing")


def test_a_snapshot_whose_file_is_gone_is_404(client, snapshot_job):
    (snap,) = Snapshot.select().where(Snapshot.job_id == snapshot_job)
    Path(snap.path).unlink()
    error_of(client.simulate_get(f"/api/snapshots/{snap.id}/file"), 404, code="snapshot_file_missing")

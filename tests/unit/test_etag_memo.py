"""Polls of an unchanged database are answered 304 from memory; any commit anywhere invalidates that."""
from __future__ import annotations

import logging
import sqlite3

from models.db import database


def test_unchanged_poll_is_answered_without_a_query(client, services):
    services.jobs.create("budget_sync", "demo")
    first = client.simulate_get("/api/jobs?budgetId=demo")
    etag = first.headers["ETag"]
    statements: list[str] = []
    database.connection().set_trace_callback(statements.append)
    try:
        again = client.simulate_get("/api/jobs?budgetId=demo", headers={"If-None-Match": etag})
    finally:
        database.connection().set_trace_callback(None)
    assert again.status_code == 304
    assert [s for s in statements if "job" in s.lower()] == []


def test_a_commit_by_another_connection_invalidates_the_memory(client, services, config):
    job = services.jobs.create("budget_sync", "demo").job
    etag = client.simulate_get(f"/api/jobs/{job.id}").headers["ETag"]
    assert client.simulate_get(f"/api/jobs/{job.id}", headers={"If-None-Match": etag}).status_code == 304
    other = sqlite3.connect(config.data_dir / "app.db")
    with other:
        other.execute("UPDATE job SET updated_at = '2031-01-01 00:00:00' WHERE id = ?", (job.id,))
    other.close()
    changed = client.simulate_get(f"/api/jobs/{job.id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_write_through_this_connection_invalidates_the_memory(client, services):
    first = services.jobs.create("budget_sync", "demo").job
    etag = client.simulate_get("/api/jobs").headers["ETag"]
    assert client.simulate_get("/api/jobs", headers={"If-None-Match": etag}).status_code == 304
    services.jobs.cancel(first.id)
    after = client.simulate_get("/api/jobs", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.json["jobs"][0]["status"] == "canceled"


def test_an_unchanged_200_is_answered_from_the_rendered_json_without_a_query(client, services):
    job = services.jobs.create("budget_sync", "demo").job
    for path in ("/api/jobs?budgetId=demo", f"/api/jobs/{job.id}"):
        first = client.simulate_get(path)
        statements: list[str] = []
        database.connection().set_trace_callback(statements.append)
        try:
            again = client.simulate_get(path)
        finally:
            database.connection().set_trace_callback(None)
        assert again.status_code == 200 and again.json == first.json
        assert again.headers["ETag"] == first.headers["ETag"]
        assert [s for s in statements if "job" in s.lower()] == []


def test_the_memory_keeps_a_bounded_number_of_bytes():
    from types import SimpleNamespace

    from api.etag import EtagMemo

    memo = EtagMemo(lambda: (1, 1))
    memo.MAX_BYTES = 1000
    for i in range(50):
        req = SimpleNamespace(relative_uri=f"/api/jobs/{i}", context=SimpleNamespace(change_marker=(1, 1)))
        memo.remember(req, f'W/"{i}"', b"x" * 100)
    assert memo._local.size <= 1000 and len(memo._entries()) == 10
    assert list(memo._entries())[-1] == "/api/jobs/49"


def test_a_poll_that_found_nothing_changed_is_logged_at_debug_a_changed_one_at_info(client, services, caplog):
    services.jobs.create("budget_sync", "demo")
    with caplog.at_level(logging.DEBUG, logger="api.request"):
        etag = client.simulate_get("/api/jobs?budgetId=demo").headers["ETag"]
        assert client.simulate_get("/api/jobs?budgetId=demo", headers={"If-None-Match": etag}).status_code == 304
    levels = [(r.levelno, r.getMessage().split()[2]) for r in caplog.records if r.name == "api.request"]
    assert levels == [(logging.INFO, "200"), (logging.DEBUG, "304")]

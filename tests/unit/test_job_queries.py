"""JobQueries: one job, its steps and events, pages of jobs, and the fingerprints ETags are made of."""
from __future__ import annotations

import datetime as dt

import pytest

from core.errors import NotFound, ValidationFailed
from jobs.queries import JobQueries, decode_cursor, encode_cursor
from jobs.registry import default_registry
from jobs.service import JobService
from models.jobs import Job
from tests.support.clock import Clock

T0 = dt.datetime(2026, 1, 5, 9, 0, 0)


@pytest.fixture()
def clock():
    return Clock(T0)


@pytest.fixture()
def svc(db, queue, clock):
    return JobService(default_registry(), queue, clock=clock)


@pytest.fixture()
def reads(db):
    return JobQueries(default_registry())


# ------------------------------------------------------------------ listing
def test_list_pages_newest_first_without_duplicates_or_gaps(svc, reads, clock):
    ids = []
    for i in range(7):
        ids.append(svc.create("budget_sync", f"b{i}").job.id)
        if i % 2:
            clock.advance(seconds=1)  # pairs share a created_at: the id breaks the tie
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = reads.list(limit=3, cursor=cursor)
        pages += 1
        seen.extend(rows)
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == 7 and len({r["id"] for r in seen}) == 7
    keys = [(r["created_at"], r["id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)
    assert set(ids) == {r["id"] for r in seen}


def test_list_with_an_exact_page_has_no_next_cursor(svc, reads):
    for i in range(3):
        svc.create("budget_sync", f"b{i}")
    rows, cursor = reads.list(limit=3)
    assert len(rows) == 3 and cursor is None


def test_list_filters_by_budget_type_and_status(svc, reads):
    a = svc.create("budget_sync", "demo").job.id
    b = svc.create("snapshot_create", "demo").job.id
    c = svc.create("budget_sync", "other").job.id
    svc.cancel(b)
    assert {r["id"] for r in reads.list(budget_id="demo")[0]} == {a, b}
    assert {r["id"] for r in reads.list(type_name="budget_sync")[0]} == {a, c}
    assert {r["id"] for r in reads.list(status="canceled")[0]} == {b}


# ------------------------------------------------------------------ one job
def test_detail_gives_the_rows_peewee_gives_as_dicts(svc, reads):
    job_id = svc.create("sync_and_suggest", "demo", metadata={"fullResync": True}).job.id
    step = svc.claim(job_id, "w").step
    svc.advance(job_id, step.id, {"new": 3})
    job, steps, events = reads.detail(job_id)
    assert job == Job.get_by_id(job_id).__data__
    assert steps == [s.__data__ for s in reads.steps(job_id)]
    assert events == [e.__data__ for e in reads.events(job_id)]
    assert steps[0]["result"] == {"new": 3} and job["metadata"] == {"fullResync": True}
    assert reads.version(job_id) == (job["status"], job["updated_at"])


def test_an_unknown_job_is_not_found_and_has_no_version(reads):
    with pytest.raises(NotFound):
        reads.get("nope")
    with pytest.raises(NotFound):
        reads.detail("nope")
    assert reads.version("nope") is None


def test_list_version_fingerprints_the_page_list_returns(svc, reads, clock):
    for i in range(5):
        svc.create("budget_sync", f"b{i}")
        clock.advance(seconds=1)
    rows, cursor = reads.list(limit=3)
    pairs, same_cursor = reads.list_version(limit=3)
    assert pairs == [(r["id"], r["updated_at"]) for r in rows] and same_cursor == cursor


def test_a_cursor_names_the_last_row_and_a_forged_one_is_refused():
    assert decode_cursor(encode_cursor(T0, "job-1")) == (T0, "job-1")
    with pytest.raises(ValidationFailed):
        decode_cursor("not a cursor")

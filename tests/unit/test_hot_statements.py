"""The job lifecycle's hand-written statements store and return what peewee itself would."""
from __future__ import annotations

import datetime as dt
import sqlite3

from jobs import statements as sql
from models.db import database, register_sqlite_adapters
from models.jobs import Job, JobStep


def test_datetimes_are_stored_exactly_as_the_sqlite3_defaults_store_them():
    register_sqlite_adapters()
    conn = sqlite3.connect(":memory:")
    values = (dt.datetime(2026, 1, 2, 3, 4, 5, 678), dt.datetime(2026, 1, 2, 3, 4, 5), dt.date(2026, 1, 2))
    assert [conn.execute("SELECT ?", (v,)).fetchone()[0] for v in values] == [
        "2026-01-02 03:04:05.000678", "2026-01-02 03:04:05", "2026-01-02"]


def test_a_job_built_from_a_returning_row_equals_the_one_peewee_reads(services):
    job = services.jobs.create("budget_sync", "demo").job
    row = database.execute_sql(f"SELECT {', '.join(f.column_name for f in sql.JOB_FIELDS)} FROM job WHERE id = ?",
                               (job.id,)).fetchone()
    built, read = sql.job_from_row(row), Job.get_by_id(job.id)
    assert built.__data__ == read.__data__ and isinstance(built.created_at, dt.datetime)
    assert not built.is_dirty() and built.__rel__ == {}
    built.status = "running"  # a field set afterwards is dirty, as on a model peewee read
    assert built.dirty_fields == [Job.status]


def test_a_step_built_from_a_returning_row_keeps_its_job_reference(services):
    job = services.jobs.create("budget_sync", "demo").job
    read = JobStep.select().where(JobStep.job == job.id).order_by(JobStep.position).first()
    row = database.execute_sql(f"SELECT {', '.join(f.column_name for f in sql.STEP_FIELDS)} FROM job_step "
                               "WHERE id = ?", (read.id,)).fetchone()
    built = sql.step_from_row(row)
    assert built.__data__ == read.__data__ and built.job_id == job.id and built.job.id == job.id

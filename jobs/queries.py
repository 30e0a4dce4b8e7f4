"""JobQueries: the read side of jobs (one job, its steps and events, pages of jobs, fingerprints for ETags)."""
from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Callable, Optional

import peewee as pw

from core.errors import NotFound, ValidationFailed
from jobs.registry import JobRegistry
from models.db import database
from models.jobs import Job, JobEvent, JobStep

JOB_FIELDS = tuple(Job._meta.sorted_fields)
STEP_FIELDS = tuple(JobStep._meta.sorted_fields)
EVENT_FIELDS = tuple(JobEvent._meta.sorted_fields)


class JobQueries:
    """Reads jobs for the API and the services; never writes."""

    def __init__(self, registry: JobRegistry) -> None:
        self.registry = registry

    def get(self, job_id: str) -> Job:
        """The job with this id, or NotFound."""
        job = Job.get_or_none(Job.id == job_id)
        if job is None:
            raise NotFound(f"No job with id {job_id}.")
        return job

    def steps(self, job_id: str) -> list[JobStep]:
        """The job's steps in order."""
        return list(JobStep.select().where(JobStep.job == job_id).order_by(JobStep.position))

    def events(self, job_id: str) -> list[JobEvent]:
        """The job's events, oldest first."""
        return list(JobEvent.select().where(JobEvent.job == job_id).order_by(JobEvent.id))

    # the poll path: SQL that peewee built once per query shape (see _rows)
    def version(self, job_id: str) -> Optional[tuple]:
        """A cheap fingerprint of a job for ETags: (status, updated_at)."""
        fields = (Job.status, Job.updated_at)
        rows = _rows(("version",), lambda: Job.select(*fields).where(Job.id == "?"), fields, [job_id])
        return rows[0] if rows else None

    def detail(self, job_id: str) -> tuple[dict, list[dict], list[dict]]:
        """The job, its steps and its events as dicts."""
        job = _dicts(("detail", Job), lambda: Job.select().where(Job.id == "?"), JOB_FIELDS, [job_id])
        if not job:
            raise NotFound(f"No job with id {job_id}.")
        steps = _dicts(("detail", JobStep),
                       lambda: JobStep.select().where(JobStep.job == "?").order_by(JobStep.position),
                       STEP_FIELDS, [job_id])
        events = _dicts(("detail", JobEvent),
                        lambda: JobEvent.select().where(JobEvent.job == "?").order_by(JobEvent.id),
                        EVENT_FIELDS, [job_id])
        return job[0], steps, events

    def list(self, *, budget_id: Optional[str] = None, type_name: Optional[str] = None,
             status: Optional[str] = None, limit: int = 20, cursor: Optional[str] = None) -> tuple[list[dict], Optional[str]]:
        """Jobs newest first as dicts, and the cursor of the next page (or None)."""
        rows = self._page(JOB_FIELDS, budget_id, type_name, status, cursor, limit)
        names = [f.name for f in JOB_FIELDS]
        dicts = [dict(zip(names, row)) for row in rows]
        next_cursor = encode_cursor(dicts[limit - 1]["created_at"], dicts[limit - 1]["id"]) if len(dicts) > limit else None
        return dicts[:limit], next_cursor

    def list_version(self, *, budget_id: Optional[str] = None, type_name: Optional[str] = None,
                     status: Optional[str] = None, limit: int = 20,
                     cursor: Optional[str] = None) -> tuple[list[tuple], Optional[str]]:
        """A cheap fingerprint of the page `list` returns, for ETags: its (id, updated_at) pairs and next cursor.

        Three columns instead of every column: a poller's 304 does not pay for the page it does not get.
        """
        rows = self._page((Job.id, Job.updated_at, Job.created_at), budget_id, type_name, status, cursor, limit)
        next_cursor = encode_cursor(rows[limit - 1][2], rows[limit - 1][0]) if len(rows) > limit else None
        return [(job_id, updated) for job_id, updated, _ in rows[:limit]], next_cursor

    def _page(self, fields: tuple, budget_id: Optional[str], type_name: Optional[str], status: Optional[str],
              cursor: Optional[str], limit: int) -> list[tuple]:
        """`limit + 1` rows of `fields`, newest first."""
        params: list[Any] = [p for p in (budget_id, type_name, status) if p]
        if cursor:
            created, last_id = decode_cursor(cursor)
            params += [created, created, last_id]
        params.append(limit + 1)
        key = ("page", fields, bool(budget_id), bool(type_name), bool(status), bool(cursor))
        return _rows(key, lambda: self._list_query(fields, budget_id, type_name, status, cursor).limit(limit + 1),
                     fields, params)

    def _list_query(self, fields: tuple, budget_id: Optional[str], type_name: Optional[str], status: Optional[str],
                    cursor: Optional[str]) -> pw.ModelSelect:
        query = Job.select(*fields)
        if budget_id:
            query = query.where(Job.budget_id == budget_id)
        if type_name:
            query = query.where(Job.type == type_name)
        if status:
            query = query.where(Job.status == status)
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where((Job.created_at < created) | ((Job.created_at == created) & (Job.id < last_id)))
        return query.order_by(Job.created_at.desc(), Job.id.desc())


_SQL: dict[tuple, str] = {}
_AS_RETURNED = (pw.CharField, pw.TextField, pw.IntegerField, pw.AutoField)  # the driver returns str and int already


def _rows(key: tuple, build: Callable[[], pw.Query], fields: tuple, params: list) -> list[tuple]:
    """Rows of a query whose SQL peewee builds once per shape and database, each value converted by its field.

    Building a query costs more than running it (CPU per call: version 0.16 ms built vs 0.013 ms here, detail
    1.16 vs 0.12, list of 20 0.80 vs 0.29); `python -m bench --quick --only polls` gave poll_p99_ratio 2.0-6.7
    with peewee building each query and 1.2-1.3 with this.
    """
    key = key + (type(database.obj),)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = build().sql()[0]
    converters = [(i, f.python_value) for i, f in enumerate(fields) if type(f) not in _AS_RETURNED]
    rows = []
    for raw in database.execute_sql(sql, params).fetchall():
        row = list(raw)
        for i, convert in converters:
            if row[i] is not None:
                row[i] = convert(row[i])
        rows.append(tuple(row))
    return rows


def _dicts(key: tuple, build: Callable[[], pw.Query], fields: tuple, params: list) -> list[dict]:
    """`_rows` as dicts keyed by field name."""
    names = [f.name for f in fields]
    return [dict(zip(names, row)) for row in _rows(key, build, fields, params)]


def encode_cursor(created_at: dt.datetime, job_id: str) -> str:
    """An opaque cursor for keyset pagination."""
    raw = f"{created_at.isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The (created_at, id) a cursor stands for, or ValidationFailed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        return dt.datetime.fromisoformat(created), job_id
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("cursor is not a cursor this API returned.", field="cursor") from None

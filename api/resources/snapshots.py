"""Snapshot endpoints: a budget's snapshots, and the file of one snapshot as a download."""
from __future__ import annotations

import falcon

from api import validation as v
from budget.snapshots import SQLITE_MEDIA_TYPE, SnapshotQueries
from jobs.registry import JobRegistry, UnknownJobType


class BudgetSnapshotsResource:
    """GET /api/budgets/{budget_id}/snapshots: newest first."""

    def __init__(self, snapshots: SnapshotQueries, registry: JobRegistry) -> None:
        self.snapshots = snapshots
        self.registry = registry

    def on_get(self, req: falcon.Request, resp: falcon.Response, budget_id: str) -> None:
        limit = v.query_int(req, "limit", 50, 1, 200)
        rows = self.snapshots.list(budget_id, limit=limit)
        resp.media = {"snapshots": [row | {"jobLabel": self._label(row["jobType"])} for row in rows]}

    def _label(self, job_type: str | None) -> str | None:
        try:
            return self.registry.get(job_type).label if job_type else None
        except UnknownJobType:
            return job_type


class SnapshotFileResource:
    """GET /api/snapshots/{snapshot_id}/file: the SQLite file, as an attachment with a name made here."""

    def __init__(self, snapshots: SnapshotQueries) -> None:
        self.snapshots = snapshots

    def on_get(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str) -> None:
        found = self.snapshots.file(snapshot_id)
        resp.content_type = SQLITE_MEDIA_TYPE
        resp.downloadable_as = found.filename
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Cache-Control", "private, no-cache")
        resp.content_length = found.size_bytes
        resp.stream = found.path.open("rb")

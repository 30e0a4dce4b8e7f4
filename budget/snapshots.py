"""Reading the snapshots a budget has: the list the Job Center shows, and the file behind one of them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from peewee import JOIN

from budget.connector import ConnectorError
from budget.service import BudgetService
from core.clock import isoformat
from core.errors import NotFound, Unavailable
from models.domain import Budget, Snapshot
from models.jobs import Job

SQLITE_MEDIA_TYPE = "application/vnd.sqlite3"


@dataclass(frozen=True)
class SnapshotFile:
    """A snapshot's file on disk and the name a download should get."""

    path: Path
    filename: str
    size_bytes: int


def safe_filename_part(text: str, limit: int = 40) -> str:
    """Only letters, digits, '-' and '_' (runs of anything else become one '-'), at most `limit` characters."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")
    return cleaned[:limit].rstrip("-_") or "budget"


class SnapshotQueries:
    """Lists a budget's snapshots and finds a snapshot's file, only ever inside the snapshots folder."""

    def __init__(self, snapshots_dir: Path, budgets: Optional[BudgetService] = None) -> None:
        """`budgets` answers for budgets listed but not recorded here yet (an Actual server's files)."""
        self.snapshots_dir = snapshots_dir
        self.budgets = budgets

    def list(self, budget_id: str, limit: int = 50) -> list[dict]:
        """The budget's snapshots, newest first, with the type and trigger of the job that made each one."""
        self._check_budget(budget_id)
        rows = (Snapshot.select(Snapshot, Job.type.alias("job_type"), Job.trigger.alias("job_trigger"))
                .join(Job, on=(Job.id == Snapshot.job_id), join_type=JOIN.LEFT_OUTER)
                .where(Snapshot.budget_id == budget_id)
                .order_by(Snapshot.created_at.desc(), Snapshot.id.desc())
                .limit(limit).dicts())
        return [snapshot_dict(r) for r in rows]

    def file(self, snapshot_id: str) -> SnapshotFile:
        """The file of snapshot `snapshot_id`; NotFound when there is no such snapshot or its file is gone."""
        snapshot = Snapshot.get_or_none(Snapshot.id == snapshot_id)
        if snapshot is None:
            raise NotFound(f"No snapshot with id {snapshot_id!r}.", code="snapshot_not_found")
        path = Path(snapshot.path).resolve()
        if not path.is_relative_to(self.snapshots_dir.resolve()) or not path.is_file():
            raise NotFound("This snapshot's file is no longer on the server.", code="snapshot_file_missing")
        budget = Budget.get_or_none(Budget.id == snapshot.budget_id)
        name = safe_filename_part(budget.name if budget else snapshot.budget_id)
        stamp = snapshot.created_at.strftime("%Y-%m-%d-%H%M%S")
        return SnapshotFile(path, f"{name}-snapshot-{stamp}.sqlite", path.stat().st_size)

    def _check_budget(self, budget_id: str) -> None:
        if Budget.get_or_none(Budget.id == budget_id) is not None:
            return
        if self.budgets is not None:
            try:
                if any(b["id"] == budget_id for b in self.budgets.list()):
                    return
            except ConnectorError as exc:  # the Actual server is down: say so rather than "no such budget"
                raise Unavailable(exc.message, code=exc.code) from None
        raise NotFound(f"No budget with id {budget_id!r}.", code="budget_not_found")


def snapshot_dict(row: dict) -> dict:
    """A snapshot row (with its job's type and trigger, None when that job was purged) as the API shows it."""
    return {"id": row["id"], "budgetId": row["budget_id"], "createdAt": isoformat(row["created_at"]),
            "sizeBytes": row["size_bytes"], "transactions": row["transaction_count"],
            "categories": row["category_count"], "jobId": row["job_id"], "jobType": row.get("job_type"),
            "jobTrigger": row.get("job_trigger"), "fileUrl": f"/api/snapshots/{row['id']}/file"}

"""When a budget last synced successfully, and when its next scheduled sync is due."""
from __future__ import annotations

import datetime as dt
from typing import Callable, Optional

from jobs.registry import JobRegistry
from models.jobs import Job


def sync_types(registry: JobRegistry) -> list[str]:
    """The job types with a sync step: any of them succeeding is a successful sync, whoever started it."""
    return [t.name for t in registry.all() if "sync" in t.steps]


def last_successful_sync(budget_id: str, types: list[str]) -> Optional[dt.datetime]:
    """When the budget's latest successful sync ended (index job_budget_status_completed), or None."""
    return (Job.select(Job.completed_at)
            .where(Job.budget_id == budget_id, Job.status == "succeeded", Job.type.in_(types),
                   Job.completed_at.is_null(False))  # the index is partial (migration 0007)
            .order_by(Job.completed_at.desc()).limit(1).scalar())


def last_successful_syncs(types: list[str]) -> dict[str, Optional[dt.datetime]]:
    """Every budget's latest successful sync in one statement (one index seek per budget, done by the database)."""
    from models.domain import Budget

    latest = Job.alias()
    last = (latest.select(latest.completed_at)
            .where(latest.budget_id == Budget.id, latest.status == "succeeded", latest.type.in_(types),
                   latest.completed_at.is_null(False))
            .order_by(latest.completed_at.desc()).limit(1))
    rows = Budget.select(Budget.id, last.alias("last_sync")).tuples()
    return {budget_id: dt.datetime.fromisoformat(at) if isinstance(at, str) else at for budget_id, at in rows}


def next_sync_due(last_sync: Optional[dt.datetime], interval_minutes: int, now: dt.datetime) -> Optional[dt.datetime]:
    """SYNC_INTERVAL_MINUTES after the last successful sync (now if it never synced); None when scheduling is off."""
    if interval_minutes <= 0:
        return None
    if last_sync is None:
        return now
    return last_sync + dt.timedelta(minutes=interval_minutes)


class SyncSchedule:
    """A budget's scheduled-sync timing as the page and the CLI show it."""

    def __init__(self, registry: JobRegistry, interval_minutes: int, clock: Callable[[], dt.datetime]) -> None:
        self.types = sync_types(registry)
        self.interval_minutes = interval_minutes
        self.clock = clock

    def for_budget(self, budget_id: str) -> dict:
        """Interval, last successful sync, when the next scheduled one is due (None when off)."""
        now = self.clock()
        last = last_successful_sync(budget_id, self.types)
        due = next_sync_due(last, self.interval_minutes, now)
        return {"intervalMinutes": self.interval_minutes, "lastSyncAt": last,
                "nextSyncDueAt": max(due, now) if due else None}

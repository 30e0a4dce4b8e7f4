"""Scheduled sync & suggest per budget, once per interval however many workers run the periodic task."""
from __future__ import annotations

import datetime as dt
import logging

from core.clock import Clock, utcnow
from jobs.service import JobService
from jobs.sync_times import last_successful_syncs, next_sync_due, sync_types
from models.db import write_transaction
from models.domain import Budget
from models.jobs import PeriodicRun

log = logging.getLogger(__name__)

SLACK = dt.timedelta(seconds=5)  # periodic tasks fire once a minute, a few seconds late at worst


def claim_slot(name: str, interval: dt.timedelta, now: dt.datetime) -> bool:
    """True for exactly one caller per interval (a conditional UPDATE, atomic on SQLite and PostgreSQL)."""
    with write_transaction():
        PeriodicRun.insert(name=name, last_run_at=dt.datetime(1970, 1, 1)).on_conflict_ignore().execute()
        updated = (PeriodicRun.update(last_run_at=now)
                   .where(PeriodicRun.name == name, PeriodicRun.last_run_at <= now - interval + SLACK).execute())
    return updated == 1


class ScheduledSync:
    """Enqueues `scheduled_sync_and_suggest` for a budget SYNC_INTERVAL_MINUTES after its last successful sync.

    The last successful sync of any trigger counts: a user's own sync moves the next scheduled one. The job
    keeps the interval that made it (metadata `intervalMinutes`): the page says "Made by the hourly schedule".
    """

    def __init__(self, service: JobService, interval_minutes: int, *, clock: Clock = utcnow) -> None:
        self.service = service
        self.clock = clock
        self.interval = dt.timedelta(minutes=interval_minutes)

    def enqueue_due(self) -> list[str]:
        """Create the scheduled job of every budget whose interval has passed; return their ids."""
        if self.interval.total_seconds() <= 0:
            return []
        created = []
        now = self.clock()
        # Read the ids first: a SELECT still stepping holds a read snapshot, and claim_slot's write transaction
        # would have to upgrade it, which SQLite refuses at once ("database is locked", no busy wait) when
        # another process committed meanwhile.
        last_syncs = last_successful_syncs(sync_types(self.service.registry))
        budget_ids = [budget_id for (budget_id,) in Budget.select(Budget.id).tuples()]
        minutes = int(self.interval.total_seconds() // 60)
        for budget_id in budget_ids:
            due = next_sync_due(last_syncs.get(budget_id), minutes, now)
            if due is not None and due > now + SLACK:
                continue  # synced recently, by the schedule or by hand
            if self.service.active_twin(budget_id, "scheduled_sync_and_suggest") is not None:
                continue  # never while one is queued or running; the slot stays open for the next minute
            if not claim_slot(f"scheduled_sync:{budget_id}", self.interval, now):
                continue
            result = self.service.create("scheduled_sync_and_suggest", budget_id, trigger="scheduled",
                                         metadata={"intervalMinutes": minutes})
            if result.created:
                created.append(result.job.id)
        if created:
            log.info("scheduled %d sync & suggest jobs", len(created))
        return created

"""Issue 11 item 7: the scheduled sync raised "database is locked" while other processes wrote.

The loop over budgets kept its SELECT open while claim_slot began its write transaction, so that transaction
had to upgrade a read snapshot; when another connection had committed meanwhile, SQLite refused at once
(SQLITE_BUSY_SNAPSHOT), without waiting for the busy timeout.
"""
from __future__ import annotations

import sqlite3

from budget.service import BudgetService
from jobs.scheduling import ScheduledSync
from models.db import database


class AnotherProcessWrites:
    """A JobService stand-in whose twin check lets a second connection commit a write (as a busy worker does)."""

    def __init__(self, jobs, path: str) -> None:
        self.jobs = jobs
        self.other = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.commits = 0

    def __getattr__(self, name):
        return getattr(self.jobs, name)

    def active_twin(self, budget_id, type_name, dedup_key=""):
        self.commits += 1
        self.other.execute("INSERT INTO periodic_run (name, last_run_at) VALUES (?, '2026-01-01')",
                           (f"elsewhere:{self.commits}",))
        return self.jobs.active_twin(budget_id, type_name, dedup_key)


def test_scheduling_every_budget_survives_commits_from_another_connection(services, config):
    for i in range(5):
        BudgetService().create_demo(f"Household {i}")
    writer = AnotherProcessWrites(services.jobs, str(config.data_dir / "app.db"))
    created = ScheduledSync(writer, interval_minutes=60).enqueue_due()
    assert writer.commits == 6 and len(created) == 6  # the demo budget and five more, none skipped
    assert database.execute_sql("SELECT COUNT(*) FROM periodic_run WHERE name LIKE 'scheduled_sync:%'"
                                ).fetchone()[0] == 6

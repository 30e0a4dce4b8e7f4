"""Sync, redownload, snapshot and apply: the budget-side work of job steps."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from budget.connector import ApplyResult, Connector, Progress
from budget.snapshot_retention import prune_snapshots
from core.clock import Clock, utcnow
from models.db import write_transaction
from models.domain import Snapshot


def plural(n: int, word: str, many: str = "") -> str:
    """'1 transaction', '2 transactions' ('1 category', '2 categories' with `many` given)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


class BudgetOperations:
    """What the sync, redownload, snapshot and apply steps do to a budget's working copy.

    The suggestion bookkeeping around them (dropping stale suggestions, marking applied ones) is the
    caller's: it is passed in as a callback, so budget/ knows nothing of suggestions.
    """

    def __init__(self, snapshots_dir: Path, *, clock: Clock = utcnow, snapshot_keep: int = 10) -> None:
        self.snapshots_dir = snapshots_dir
        self.clock = clock
        self.snapshot_keep = snapshot_keep

    def sync(self, connector: Connector, progress: Progress, full: bool = False) -> tuple[dict, str]:
        """Pull the latest state (or download afresh when `full`); counts of new and changed transactions."""
        result = connector.fresh_download(progress) if full else connector.pull_latest(progress)
        summary = f"{plural(result.new, 'new transaction')}, {result.changed} changed"
        return {"new": result.new, "changed": result.changed, "total": result.total, "full": full}, summary

    def redownload(self, connector: Connector, progress: Progress,
                   drop_stale: Callable[[Connector], int]) -> tuple[dict, str]:
        """Discard the working copy, download it fresh; `drop_stale` drops suggestions that no longer match."""
        result = connector.fresh_download(progress)
        dropped = drop_stale(connector)
        summary = f"{plural(result.total, 'transaction')} downloaded, {plural(dropped, 'stale suggestion')} dropped"
        return {"transactions": result.total, "droppedSuggestions": dropped}, summary

    def snapshot(self, budget_id: str, job_id: str, connector: Connector) -> tuple[dict, str]:
        """Copy the working copy to DATA_DIR/snapshots and record it (one snapshot per job, even if re-run)."""
        existing = Snapshot.get_or_none(Snapshot.job_id == job_id)
        if existing is None:
            snapshot_id = job_id  # a re-run after a crash overwrites the same file instead of adding one
            dest = self.snapshots_dir / budget_id / f"{snapshot_id}.sqlite"
            dest.parent.mkdir(parents=True, exist_ok=True)
            info = connector.snapshot(dest)
            with write_transaction():
                existing = Snapshot.create(id=snapshot_id, budget_id=budget_id, job_id=job_id, path=str(info.path),
                                           size_bytes=info.size_bytes, transaction_count=info.transaction_count,
                                           category_count=info.category_count, created_at=self.clock())
            prune_snapshots(budget_id, self.snapshot_keep)  # SNAPSHOT_KEEP newest per budget, the new one included
        result = {"snapshotId": existing.id, "transactions": existing.transaction_count,
                  "categories": existing.category_count, "sizeBytes": existing.size_bytes}
        return result, f"{plural(existing.transaction_count, 'transaction')}, {plural(existing.category_count, 'category', 'categories')}"

    def apply(self, connector: Connector, assignments: dict[str, str], progress: Progress,
              record: Callable[[ApplyResult], None]) -> tuple[dict, str]:
        """Write categories (transaction id -> category id) to the budget; `record` learns what it accepted."""
        outcome = connector.set_categories(assignments, progress)
        record(outcome)
        result = {"applied": len(outcome.applied), "skipped": len(outcome.skipped),
                  "skippedTransactions": dict(list(outcome.skipped.items())[:50])}
        return result, f"{plural(len(outcome.applied), 'category', 'categories')} applied, {len(outcome.skipped)} skipped"

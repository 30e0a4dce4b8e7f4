"""Sync, redownload, snapshot and apply: the budget-side work of job steps."""
from __future__ import annotations

from pathlib import Path

from budget.connector import Connector, Progress
from core.clock import Clock, utcnow
from models.db import write_transaction
from models.domain import Snapshot
from suggestions.service import SuggestionService


def plural(n: int, word: str, many: str = "") -> str:
    """'1 transaction', '2 transactions' ('1 category', '2 categories' with `many` given)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


class BudgetOperations:
    """What the sync, redownload, snapshot and apply steps do to a budget's working copy."""

    def __init__(self, suggestions: SuggestionService, snapshots_dir: Path, *, clock: Clock = utcnow) -> None:
        self.suggestions = suggestions
        self.snapshots_dir = snapshots_dir
        self.clock = clock

    def sync(self, connector: Connector, progress: Progress, full: bool = False) -> tuple[dict, str]:
        """Pull the latest state (or download afresh when `full`); counts of new and changed transactions."""
        result = connector.fresh_download(progress) if full else connector.pull_latest(progress)
        summary = f"{plural(result.new, 'new transaction')}, {result.changed} changed"
        return {"new": result.new, "changed": result.changed, "total": result.total, "full": full}, summary

    def redownload(self, budget_id: str, connector: Connector, progress: Progress) -> tuple[dict, str]:
        """Discard the working copy, download it fresh, drop suggestions that no longer match."""
        result = connector.fresh_download(progress)
        dropped = self.suggestions.drop_stale(budget_id, connector)
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
        result = {"snapshotId": existing.id, "transactions": existing.transaction_count,
                  "categories": existing.category_count, "sizeBytes": existing.size_bytes}
        return result, f"{plural(existing.transaction_count, 'transaction')}, {plural(existing.category_count, 'category', 'categories')}"

    def apply(self, budget_id: str, connector: Connector, progress: Progress, ids: list[str] | None) -> tuple[dict, str]:
        """Write approved categories to the budget; mark applied only what the budget accepted."""
        approved = self.suggestions.approved(budget_id, ids)
        by_tx = {s.transaction_id: s for s in approved}
        outcome = connector.set_categories({s.transaction_id: s.proposed_category_id for s in approved}, progress)
        self.suggestions.mark_applied([by_tx[tx].id for tx in outcome.applied if tx in by_tx])
        self.suggestions.mark_skipped([by_tx[tx].id for tx in outcome.skipped if tx in by_tx])
        result = {"applied": len(outcome.applied), "skipped": len(outcome.skipped),
                  "skippedTransactions": dict(list(outcome.skipped.items())[:50])}
        return result, f"{plural(len(outcome.applied), 'category', 'categories')} applied, {len(outcome.skipped)} skipped"

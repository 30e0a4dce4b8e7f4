"""Snapshot retention: each budget keeps its newest SNAPSHOT_KEEP snapshots; older rows and files go."""
from __future__ import annotations

import logging
from pathlib import Path

from models.db import write_transaction
from models.domain import Snapshot

log = logging.getLogger(__name__)


def prune_snapshots(budget_id: str, keep: int) -> int:
    """Delete all but the newest `keep` snapshots of a budget (rows first, then files); how many went."""
    with write_transaction():
        old = list(Snapshot.select(Snapshot.id, Snapshot.path).where(Snapshot.budget_id == budget_id)
                   .order_by(Snapshot.created_at.desc(), Snapshot.id.desc()).offset(keep))
        if old:
            Snapshot.delete().where(Snapshot.id.in_([s.id for s in old])).execute()
    for snapshot in old:  # a file left by a crash here is only disk, never a row pointing at nothing
        Path(snapshot.path).unlink(missing_ok=True)
    if old:
        log.info("budget %s: %d old snapshot(s) deleted, %d kept", budget_id, len(old), keep)
    return len(old)

"""Test-only fault injection: a connector wrapper that makes chosen methods fail or take long.

It exists only when BA_FAULTS_DIR is set (tests set it); nothing in the public API reaches it.
`<BA_FAULTS_DIR>/<budget id>.json` (see `write_faults`) holds
`{"failOn": {method: message}, "delayOn": {method: seconds}}`, read each time a connector is opened:
- `failOn`: the method raises ConnectorError(message). A message written `transient:N:text` fails
  transiently (retryable) on the first N calls only, counted across processes in
  `<BA_FAULTS_DIR>/counts.sqlite`.
- `delayOn`: the method takes that many seconds, reporting progress every 50 ms (so checkpoints see
  cancels, timeouts and shutdowns).
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Optional

from budget.connector import ApplyResult, Connector, ConnectorError, Progress, SnapshotFile, SyncResult

STEP_SECONDS = 0.05


def _no_progress(done: int, total: int) -> None:
    return None


def write_faults(faults_dir: Path, budget_id: str, *, fail_on: Optional[dict[str, str]] = None,
                 delay_on: Optional[dict[str, float]] = None) -> Path:
    """Make `budget_id`'s connector fail or slow down from its next opening on; returns the file."""
    faults_dir.mkdir(parents=True, exist_ok=True)
    path = faults_dir / f"{budget_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"failOn": fail_on or {}, "delayOn": delay_on or {}}))
    tmp.replace(path)
    return path


class FailureCounter:
    """How often each budget's method has failed on purpose, shared by every process on `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def count(self, budget_id: str, method: str) -> int:
        """Count one more failure of `method` and return the total, this one included."""
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS failures (budget_id TEXT NOT NULL, method TEXT NOT NULL,"
                         " n INTEGER NOT NULL, PRIMARY KEY (budget_id, method))")
            conn.execute("INSERT INTO failures VALUES (?, ?, 1) ON CONFLICT (budget_id, method) DO UPDATE"
                         " SET n = n + 1", (budget_id, method))
            (n,) = conn.execute("SELECT n FROM failures WHERE budget_id = ? AND method = ?",
                                (budget_id, method)).fetchone()
            conn.execute("COMMIT")
            return n
        finally:
            conn.close()


class FaultInjectingConnector:
    """A connector that fails or delays the methods its fault file names, then calls the real one."""

    def __init__(self, inner: Connector, budget_id: str, counter: FailureCounter, *,
                 fail_on: Optional[dict[str, str]] = None, delay_on: Optional[dict[str, float]] = None) -> None:
        self.inner = inner
        self.budget_id = budget_id
        self.counter = counter
        self.fail_on = dict(fail_on or {})
        self.delay_on = {k: float(v) for k, v in (delay_on or {}).items()}

    def _check(self, method: str, progress: Optional[Progress] = None) -> None:
        message = self.fail_on.get(method)
        if message is not None:
            if message.startswith("transient:"):
                _, times, text = message.split(":", 2)
                if self.counter.count(self.budget_id, method) <= int(times):
                    raise ConnectorError(text.strip(), code="demo_failure", transient=True)
            else:
                raise ConnectorError(message, code="demo_failure")
        seconds = self.delay_on.get(method, 0.0)
        if seconds > 0:
            steps = max(1, int(seconds / STEP_SECONDS))
            for i in range(steps):
                time.sleep(seconds / steps)
                (progress or _no_progress)(i + 1, steps)

    def pull_latest(self, progress: Progress) -> SyncResult:
        self._check("pull_latest", progress)
        return self.inner.pull_latest(progress)

    def fresh_download(self, progress: Progress) -> SyncResult:
        self._check("fresh_download", progress)
        return self.inner.fresh_download(progress)

    def accounts(self) -> list:
        self._check("accounts")
        return self.inner.accounts()

    def categories(self) -> list:
        self._check("categories")
        return self.inner.categories()

    def payees(self) -> list:
        self._check("payees")
        return self.inner.payees()

    def transactions(self) -> list:
        self._check("transactions")
        return self.inner.transactions()

    def uncategorized_ids(self) -> list:
        self._check("uncategorized_ids")
        return self.inner.uncategorized_ids()

    def set_categories(self, assignments: dict[str, str], progress: Progress) -> ApplyResult:
        self._check("set_categories", progress)
        return self.inner.set_categories(assignments, progress)

    def snapshot(self, dest: Path) -> SnapshotFile:
        self._check("snapshot")
        return self.inner.snapshot(dest)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FaultInjection:
    """Wraps a budget's connector when `faults_dir` holds a fault file for it (see the module docstring)."""

    def __init__(self, faults_dir: Path) -> None:
        self.faults_dir = faults_dir
        self.counter = FailureCounter(faults_dir / "counts.sqlite")

    def wrap(self, budget_id: str, connector: Connector) -> Connector:
        """`connector`, behind a FaultInjectingConnector when `budget_id` has a fault file."""
        path = self.faults_dir / f"{budget_id}.json"
        if not path.exists():
            return connector
        faults = json.loads(path.read_text())
        return FaultInjectingConnector(connector, budget_id, self.counter, fail_on=faults.get("failOn"),
                                       delay_on=faults.get("delayOn"))

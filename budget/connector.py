"""The connector protocol every budget source implements (demo budget, Actual server)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Protocol

Progress = Callable[[int, int], None]
"""Called with (done, total) at least every 100 items; may raise to stop the work (cancel, timeout)."""


@dataclass(frozen=True)
class Account:
    id: str
    name: str


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    group_name: str


@dataclass(frozen=True)
class Payee:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Transaction:
    """One transaction eligible for categorisation (see `Connector.transactions`)."""

    id: str
    account_id: str
    account_name: str
    payee_id: Optional[str]
    payee_name: str
    date: dt.date
    amount: int  # minor units (cents), negative for outflows
    category_id: Optional[str]
    notes: str = ""
    imported_payee: str = ""  # the raw bank string (Actual's imported_description), when the source keeps it


@dataclass(frozen=True)
class SyncResult:
    """What a pull or a fresh download brought into the working copy."""

    new: int
    changed: int
    total: int


@dataclass(frozen=True)
class ApplyResult:
    """Which category assignments the budget accepted and which it skipped (with why)."""

    applied: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSpec:
    """A rule to teach the budget: "payee is <payee> -> set category <category>".

    On the payee (`payee_id`) when the transaction has one; else on the imported payee text
    (`imported` = True, matched as Actual does: case-insensitively, whole text).
    """

    payee_id: Optional[str]
    payee_name: str
    category_id: str
    imported: bool = False


@dataclass(frozen=True)
class RuleOutcome:
    """What `create_rules` did for one spec: the rule's id in the budget and whether it was created now."""

    spec: RuleSpec
    rule_id: str
    created: bool  # False: an identical rule was there already (not created twice)


@dataclass(frozen=True)
class Revert:
    """Put `restore` back on a transaction if it still has `expected` (what the apply wrote); drop `note_tag`."""

    expected: str
    restore: Optional[str]
    note_tag: str = ""


@dataclass(frozen=True)
class SnapshotFile:
    """A copy of the working copy written to disk by `Connector.snapshot`."""

    path: Path
    size_bytes: int
    transaction_count: int
    category_count: int


class Connector(Protocol):
    """One budget's source of truth plus its local working copy; used by one job at a time."""

    def has_working_copy(self) -> bool:
        """Whether a sync has made the working copy yet."""

    def pull_latest(self, progress: Progress) -> SyncResult:
        """Bring the working copy up to date with the source."""

    def fresh_download(self, progress: Progress) -> SyncResult:
        """Discard the working copy and download it again."""

    def accounts(self) -> list[Account]:
        """Accounts of the working copy."""

    def categories(self) -> list[Category]:
        """Categories of the working copy (not hidden, not deleted)."""

    def payees(self) -> list[Payee]:
        """Payees of the working copy."""

    def transactions(self) -> list[Transaction]:
        """Transactions of the working copy that can carry a category: those of on-budget accounts that are
        not split parents, and have either no transfer or a transfer to an off-budget account (Actual's
        meaning). Those without a category are "uncategorized"; the rest are the history suggestions learn from.
        In no particular order.
        """

    def uncategorized_ids(self) -> list[str]:
        """Ids of the `transactions()` without a category, without reading every transaction when it can."""

    def set_categories(self, assignments: dict[str, str], progress: Progress) -> ApplyResult:
        """Set categories (transaction id -> category id) at the source; skip what changed there.

        Each transaction is re-checked at the source against the meaning of `transactions()`; a
        category hidden since is skipped, one deleted into a replacement is followed to it.
        """

    def tag_notes(self, transaction_ids: list[str], tag: str) -> list[str]:
        """Append ` <tag>` to the notes of these transactions (unless there already); the ids tagged now."""

    def revert_categories(self, reverts: dict[str, Revert], progress: Progress) -> ApplyResult:
        """Undo an apply: restore each category unless the transaction changed since (skipped with why)."""

    def create_rules(self, specs: list[RuleSpec]) -> list[RuleOutcome]:
        """Create "payee -> category" rules at the source; an identical existing rule is reused, not doubled."""

    def delete_rules(self, rules: dict[str, RuleSpec]) -> dict[str, str]:
        """Delete rules (id -> what they were created as); rule id -> "removed" or why it was left alone."""

    def snapshot(self, dest: Path) -> SnapshotFile:
        """Write a copy of the working copy to `dest`."""

    def close(self) -> None:
        """Release files and connections."""


class ConnectorError(Exception):
    """A failure the user can act on; `message` is user-safe (no secrets, no stack trace)."""

    def __init__(self, message: str, *, transient: bool = False, code: str = "connector_error") -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.code = code

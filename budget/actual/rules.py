"""What Actual means by "uncategorized", on the working copy's tables: the transactions suggestions
learn from and are made for, and the re-check of each one (and of its category) before an apply or
an undo writes.
"""
from __future__ import annotations

import sqlite3
from typing import Optional

from budget.connector import Progress, Revert

# What a check decided to write: transaction id -> column -> (our value, the value it has now).
Writes = dict[str, dict[str, tuple[Optional[str], Optional[str]]]]
# (done already, skipped with why, writes)
Checked = tuple[list[str], dict[str, str], Writes]

# What Actual lists as "uncategorized", and the categorized history beside it: transactions of
# on-budget accounts, not split parents, and either no transfer or a transfer to an off-budget account
# (a transfer between on-budget accounts carries no category). Starting balances are left out.
ELIGIBLE_SQL = """
SELECT t.id, t.acct, a.name, COALESCE(pm.targetId, t.description), p.name, t.date, t.amount,
       CASE WHEN c.id IS NULL OR c.tombstone = 1 THEN NULL ELSE COALESCE(cm.transferId, t.category) END AS category,
       COALESCE(t.notes, ''), COALESCE(t.imported_description, '')
FROM transactions t
JOIN accounts a ON a.id = t.acct AND COALESCE(a.tombstone, 0) = 0 AND COALESCE(a.offbudget, 0) = 0
LEFT JOIN payee_mapping pm ON pm.id = t.description
LEFT JOIN payees p ON p.id = COALESCE(pm.targetId, t.description)
LEFT JOIN accounts ta ON ta.id = p.transfer_acct
LEFT JOIN category_mapping cm ON cm.id = t.category
LEFT JOIN categories c ON c.id = COALESCE(cm.transferId, t.category)
LEFT JOIN transactions parent ON parent.id = t.parent_id
WHERE COALESCE(t.tombstone, 0) = 0
  AND COALESCE(t.isParent, 0) = 0
  AND (t.parent_id IS NULL OR COALESCE(parent.tombstone, 0) = 0)
  AND ((t.transferred_id IS NULL AND p.transfer_acct IS NULL) OR COALESCE(ta.offbudget, 0) = 1)
  AND COALESCE(t.starting_balance_flag, 0) = 0
  AND NOT (COALESCE(p.name, '') = 'Starting Balance' AND p.transfer_acct IS NULL
           AND COALESCE(c.is_income, 0) = 1)
"""
"""In no particular order (sorting them by date would cost a third more, and no reader needs it)."""
UNCATEGORIZED_SQL = f"SELECT e.id FROM ({ELIGIBLE_SQL}) e WHERE e.category IS NULL"
"""The ids of the eligible transactions without a category."""

# The same conditions for one transaction, re-checked at apply time on the freshly pulled copy.
_TRANSACTION_SQL = """
SELECT COALESCE(t.tombstone, 0) OR a.id IS NULL OR COALESCE(a.tombstone, 0)
           OR (t.parent_id IS NOT NULL AND COALESCE(parent.tombstone, 0)),
       CASE WHEN c.id IS NULL OR c.tombstone = 1 THEN NULL ELSE COALESCE(cm.transferId, t.category) END,
       COALESCE(t.isParent, 0),
       COALESCE(a.offbudget, 0),
       (t.transferred_id IS NOT NULL OR p.transfer_acct IS NOT NULL) AND COALESCE(ta.offbudget, 0) = 0
FROM transactions t
LEFT JOIN accounts a ON a.id = t.acct
LEFT JOIN payee_mapping pm ON pm.id = t.description
LEFT JOIN payees p ON p.id = COALESCE(pm.targetId, t.description)
LEFT JOIN accounts ta ON ta.id = p.transfer_acct
LEFT JOIN category_mapping cm ON cm.id = t.category
LEFT JOIN categories c ON c.id = COALESCE(cm.transferId, t.category)
LEFT JOIN transactions parent ON parent.id = t.parent_id
WHERE t.id = ?
"""

_CATEGORY_SQL = """
SELECT COALESCE(c.tombstone, 0) OR COALESCE(g.tombstone, 0), COALESCE(c.hidden, 0) OR COALESCE(g.hidden, 0),
       cm.transferId
FROM categories c
LEFT JOIN category_groups g ON g.id = c.cat_group
LEFT JOIN category_mapping cm ON cm.id = c.id
WHERE c.id = ?
"""

SKIP_NOT_FOUND = "not found in the budget"
SKIP_DELETED = "deleted on the server"
SKIP_CATEGORIZED = "already categorized on the server"
SKIP_SPLIT_OR_TRANSFER = "became a split or a transfer on the server"
SKIP_OFF_BUDGET = "the account is off budget"
SKIP_NO_CATEGORY = "the category no longer exists"
SKIP_HIDDEN_CATEGORY = "the category is hidden"
SKIP_CHANGED = "changed by someone else"
SKIP_CHANGED_SINCE = "changed since the apply"
SKIP_DELETED_SINCE = "deleted since the apply"


def target_category(conn: sqlite3.Connection, category_id: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(the category to write, None) or (None, why not): a deleted category is followed to its replacement."""
    row = conn.execute(_CATEGORY_SQL, (category_id,)).fetchone() if category_id else None
    if row is not None and row[0] and row[2] and row[2] != category_id:  # deleted, merged into another
        category_id = row[2]
        row = conn.execute(_CATEGORY_SQL, (category_id,)).fetchone()
    if row is None or row[0]:
        return None, SKIP_NO_CATEGORY
    if row[1]:
        return None, SKIP_HIDDEN_CATEGORY
    return category_id, None


def why_not(conn: sqlite3.Connection, tx_id: str, category_id: str) -> Optional[str]:
    """None when `tx_id` is uncategorized (Actual's meaning) and may get `category_id`; else why not."""
    row = conn.execute(_TRANSACTION_SQL, (tx_id,)).fetchone()
    if row is None:
        return SKIP_NOT_FOUND
    deleted, live_category, is_parent, off_budget, on_budget_transfer = row
    if deleted:
        return SKIP_DELETED
    if live_category:
        return "" if live_category == category_id else SKIP_CATEGORIZED  # "": has it already
    if off_budget:
        return SKIP_OFF_BUDGET
    if is_parent or on_budget_transfer:
        return SKIP_SPLIT_OR_TRANSFER
    return None


def apply_writes(conn: sqlite3.Connection, assignments: dict[str, str], progress: Progress) -> Checked:
    """(applied already, skipped with why, writes): a category goes only onto a transaction still uncategorized."""
    applied: list[str] = []
    skipped: dict[str, str] = {}
    writes: Writes = {}
    total = len(assignments)
    for done, (tx_id, cat_id) in enumerate(assignments.items(), start=1):
        target, why_category = target_category(conn, cat_id)
        why = why_not(conn, tx_id, target or cat_id)
        if why == "":
            applied.append(tx_id)  # already has this category (e.g. a retried apply)
        elif why or why_category:
            skipped[tx_id] = why or why_category
        else:
            before = conn.execute("SELECT category FROM transactions WHERE id = ?", (tx_id,)).fetchone()[0]
            writes[tx_id] = {"category": (target, before)}
        if done % 100 == 0 or done == total:
            progress(done, total)
    return applied, skipped, writes


def untag(notes: Optional[str], tag: str) -> Optional[str]:
    """`notes` without the apply's tag (what they were before it was appended)."""
    if not tag or not notes or tag not in notes.split():
        return notes
    if notes == tag:
        return None
    if notes.endswith(" " + tag):
        return notes[: -len(tag) - 1]
    return " ".join(w for w in notes.split(" ") if w != tag)


def revert_writes(conn: sqlite3.Connection, reverts: dict[str, Revert], progress: Progress) -> Checked:
    """(restored already, left alone with why, writes): a category goes back only while it is the applied one."""
    restored: list[str] = []
    skipped: dict[str, str] = {}
    writes: Writes = {}
    total = len(reverts)
    progress(0, total)
    for done, (tx_id, r) in enumerate(reverts.items(), start=1):
        row = conn.execute("SELECT COALESCE(tombstone, 0), category, notes FROM transactions WHERE id = ?",
                           (tx_id,)).fetchone()
        if row is None or row[0]:
            skipped[tx_id] = SKIP_DELETED_SINCE
        elif row[1] == r.expected:
            writes[tx_id] = {"category": (r.restore, r.expected)}
            notes = untag(row[2], r.note_tag)
            if notes != row[2]:
                writes[tx_id]["notes"] = (notes, row[2])
        elif row[1] == r.restore and r.note_tag not in (row[2] or "").split():
            restored.append(tx_id)  # restored already (a retried undo)
        else:
            skipped[tx_id] = SKIP_CHANGED_SINCE
        if done % 100 == 0 or done == total:
            progress(done, total)
    return restored, skipped, writes

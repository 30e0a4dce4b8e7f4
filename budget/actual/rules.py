"""What Actual means by "uncategorized", on the working copy's tables: the transactions suggestions
learn from and are made for, and the re-check of each one (and of its category) before apply writes.
"""
from __future__ import annotations

import sqlite3
from typing import Optional

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
ORDER BY t.date DESC, t.sort_order DESC, t.id
"""
ELIGIBLE_UNORDERED_SQL = ELIGIBLE_SQL.split("ORDER BY")[0]
"""The same rows in no particular order (a third cheaper: no sort), for what only needs the set."""
UNCATEGORIZED_SQL = f"SELECT e.id FROM ({ELIGIBLE_UNORDERED_SQL}) e WHERE e.category IS NULL"
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

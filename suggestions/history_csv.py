"""Read a categorized history from the normalized CSV layout of tests/data (for backtests and benchmarks)."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path

from budget.connector import Category, Transaction

COLUMNS = ("date", "payee", "imported_payee", "notes", "amount", "account", "category")


def read_history_csv(path: Path) -> tuple[list[Transaction], list[Category]]:
    """Transactions (ids t0, t1, ... in file order) and the categories they use, from one CSV file."""
    transactions: list[Transaction] = []
    categories: dict[str, Category] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            name = row["category"].strip()
            cid = "c-" + hashlib.sha1(name.encode()).hexdigest()[:10]
            categories.setdefault(cid, Category(cid, name, ""))
            account = row.get("account", "") or ""
            transactions.append(Transaction(
                id=f"t{i}", account_id=account, account_name=account, payee_id=None,
                payee_name=row.get("payee", "") or "", date=dt.date.fromisoformat(row["date"]),
                amount=round(float(row["amount"]) * 100), category_id=cid, notes=row.get("notes", "") or "",
                imported_payee=row.get("imported_payee", "") or "",
            ))
    return transactions, list(categories.values())

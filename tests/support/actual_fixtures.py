"""Pytest fixtures for tests against a real Actual sync server.

Enable with `pytest_plugins = ["tests.support.actual_fixtures"]` in tests/conftest.py.

- `actual_install` (session): installs the server into the cache (instant when cached).
- `actual_server` (module): starts it on 127.0.0.1 at a free port with its data in a temp dir,
  bootstraps the password, logs in once; stopped by PID after the module. One per module because
  the server limits each client address to 500 requests a minute.
- `actual_session` (module): an `ActualSession` that reuses the fixture's token (no extra login).
- `seed_budget` (module): a factory that seeds a budget through actualpy and uploads it.
"""
from __future__ import annotations

import datetime as dt
import decimal
import random
import re
import time
import urllib.request
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest

from tests.support.actual_server import ActualServer, install_actual_server, start_actual_server

ACTUAL_TEST_PASSWORD = "test-pw-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def actual_install() -> Path:
    """The Actual server installed (or found) in the cache, once per session."""
    return install_actual_server()


# One server per test module, logged in once: the server allows 500 requests per minute per client
# address, and the whole suite against a single server from 127.0.0.1 goes over that.
@pytest.fixture(scope="module")
def actual_server(actual_install, tmp_path_factory) -> ActualServer:
    cache_dir = actual_install
    server = start_actual_server(tmp_path_factory.mktemp("actual-server"), ACTUAL_TEST_PASSWORD, cache_dir=cache_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def actual_session(actual_server):
    from budget.actual import ActualSession

    return ActualSession(actual_server.url, actual_server.password, token=actual_server.token)


@dataclass
class SeededBudget:
    """What `seed_budget` put on the server (ids are Actual ids)."""

    file_id: str
    name: str
    accounts: dict[str, str] = field(default_factory=dict)  # name -> id
    categories: dict[str, str] = field(default_factory=dict)  # name -> id
    payees: dict[str, str] = field(default_factory=dict)  # name -> id
    uncategorized: list[str] = field(default_factory=list)  # ordinary transactions without category
    categorized: list[str] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)
    starting_balances: list[str] = field(default_factory=list)
    split_parents: list[str] = field(default_factory=list)
    split_children: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    off_budget: list[str] = field(default_factory=list)  # ordinary transactions of the off-budget account
    to_off_budget: list[str] = field(default_factory=list)  # on-budget side of transfers to it (uncategorized)
    from_off_budget: list[str] = field(default_factory=list)  # the off-budget side of those transfers

    @property
    def eligible(self) -> set[str]:
        return set(self.uncategorized) | set(self.categorized) | set(self.split_children)


CATEGORY_GROUPS = {
    "Usual Expenses": ["Groceries", "Restaurants", "Transport", "Utilities"],
    "Fun": ["Hobbies", "Travel"],
    "Income": ["Salary"],
}
PAYEES = {
    "SuperMart": "Groceries", "Corner Bakery": "Groceries", "Pizza Place": "Restaurants",
    "City Metro": "Transport", "Power Co": "Utilities", "Book Shop": "Hobbies",
    "Air Lines": "Travel", "Employer Inc": "Salary",
}


def seed_actual_budget(
    server_url: str,
    token: str,
    work_dir: Path,
    name: str,
    n_transactions: int = 300,
    uncategorized_every: int = 3,
    encryption_password: Optional[str] = None,
    seed: int = 7,
    off_budget: bool = False,
) -> SeededBudget:
    """Create a budget with actualpy, fill it and upload it to the server.

    `off_budget=True` adds an off-budget account "Brokerage" with categorized and uncategorized
    purchases, and two transfers from Checking to it. On an older server (whose budgets lack
    `categories.template_settings`, which actualpy's ORM selects) the column exists only while
    seeding and is dropped before the upload, so the server keeps a budget of its own version.
    """
    from actual import Actual
    from actual.database import Categories, Transactions
    from actual.queries import (
        create_account,
        create_category,
        create_payee,
        create_split,
        create_transaction,
        create_transaction_from_ids,
        create_transfer,
    )

    rng = random.Random(seed)
    work_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Actual(server_url, token=token, data_dir=work_dir, encryption_password=encryption_password) as actual:
            actual.create_budget(name)
            s = actual.session
            legacy = _add_missing_orm_columns(actual.engine)
            out = SeededBudget(file_id="", name=name)
            checking = create_account(s, "Checking", initial_balance=decimal.Decimal("1500.00"))
            card = create_account(s, "Credit Card")
            out.accounts = {"Checking": checking.id, "Credit Card": card.id}
            for group, cats in CATEGORY_GROUPS.items():
                for cat in cats:
                    out.categories[cat] = create_category(s, cat, group).id
            for payee in PAYEES:
                out.payees[payee] = create_payee(s, payee).id
            s.flush()
            start = dt.date(2024, 1, 1)
            names = list(PAYEES)
            for i in range(n_transactions):
                payee = rng.choice(names)
                income = PAYEES[payee] == "Salary"
                amount = decimal.Decimal(rng.randint(100, 20000)) / 100
                category = None if i % uncategorized_every == 0 else out.categories[PAYEES[payee]]
                t = create_transaction_from_ids(
                    s, start + dt.timedelta(days=i % 365), rng.choice([checking, card]).id, out.payees[payee],
                    f"seed {i}", category, amount if income else -amount,
                    imported_payee=f"POS {payee.upper()} {i:04d}",  # the bank's raw string, as an import keeps it
                )
                (out.uncategorized if category is None else out.categorized).append(t.id)
            # a transfer pair, a split, a deleted transaction
            t1, t2 = create_transfer(s, dt.date(2024, 2, 1), checking, card, decimal.Decimal("200"))
            out.transfers += [t1.id, t2.id]
            parent = create_transaction(s, dt.date(2024, 3, 1), checking, "SuperMart", amount=decimal.Decimal("-60"))
            parent.is_parent = 1
            c1 = create_split(s, parent, decimal.Decimal("-40"))
            c2 = create_split(s, parent, decimal.Decimal("-20"))
            out.split_parents.append(parent.id)
            out.split_children += [c1.id, c2.id]
            gone = create_transaction(s, dt.date(2024, 4, 1), card, "Book Shop", amount=decimal.Decimal("-9.99"))
            gone.delete()
            out.deleted.append(gone.id)
            s.flush()
            out.starting_balances = [
                t.id for t in s.query(Transactions).filter(Transactions.acct == checking.id).all()
                if t.payee and t.payee.name == "Starting Balance"
            ]
            if off_budget:
                brokerage = create_account(s, "Brokerage", off_budget=True)
                out.accounts["Brokerage"] = brokerage.id
                for i in range(6):
                    payee = names[i % len(names)]
                    category = None if i % 2 == 0 else out.categories[PAYEES[payee]]
                    t = create_transaction_from_ids(s, start + dt.timedelta(days=i), brokerage.id, out.payees[payee],
                                                    f"off {i}", category, -decimal.Decimal(10 + i))
                    out.off_budget.append(t.id)
                for i in range(2):
                    ours, theirs = create_transfer(s, dt.date(2024, 5, 1 + i), checking, brokerage,
                                                   decimal.Decimal(100 + i))
                    out.to_off_budget.append(ours.id)
                    out.from_off_budget.append(theirs.id)
                s.flush()
            assert s.query(Categories).count() >= 7
            actual.commit()
            _drop_columns(actual.engine, legacy)
            actual.upload_budget()
            out.file_id = actual.file.file_id
    return out


_ORM_ONLY_COLUMNS = {"categories": {"template_settings": "JSON"}}
"""Columns actualpy 0.22's ORM selects that budgets of older servers (25.6.0) do not have."""


def _add_missing_orm_columns(engine) -> list[tuple[str, str]]:
    """Add the columns actualpy's ORM needs but this budget lacks; return them for `_drop_columns`."""
    from sqlalchemy import inspect, text

    added = []
    with engine.begin() as conn:
        for table, columns in _ORM_ONLY_COLUMNS.items():
            have = {c["name"] for c in inspect(conn).get_columns(table)}
            for column, kind in columns.items():
                if column not in have:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                    added.append((table, column))
    return added


def _drop_columns(engine, columns: list[tuple[str, str]]) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        for table, column in columns:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))


@pytest.fixture(scope="module")
def seed_budget(actual_server, tmp_path_factory) -> Callable[..., SeededBudget]:
    def _seed(name: Optional[str] = None, **kwargs) -> SeededBudget:
        name = name or f"Seeded {uuid.uuid4().hex[:6]}"
        work = tmp_path_factory.mktemp("seed")
        return seed_actual_budget(actual_server.url, actual_server.token, work, name, **kwargs)

    return _seed


class OtherClient:
    """Another Actual client (think: the web app) with its own data dir, reusing the fixture's token."""

    def __init__(self, server, file_id: str, tmp: Path, encryption_password: Optional[str] = None) -> None:
        from actual import Actual

        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self.actual = Actual(server.url, token=server.token, file=file_id, data_dir=tmp / uuid.uuid4().hex,
                             encryption_password=encryption_password)
        self.actual.__enter__()

    @property
    def s(self):
        return self.actual.session

    def tx(self, tx_id: str):
        """The transaction row with this id."""
        from actual.database import Transactions

        return self.s.get(Transactions, tx_id)

    def close(self) -> None:
        """Close the client without committing."""
        self.actual.__exit__(None, None, None)
        self._warnings.__exit__(None, None, None)

    def commit_and_close(self) -> None:
        """Send the changes to the server, then close."""
        self.actual.commit()
        self.close()


def server_state(server, file_id: str, tmp: Path, encryption_password: Optional[str] = None) -> dict[str, tuple]:
    """What a fresh actualpy client with an empty data dir sees: id -> (category, tombstone, notes, amount)."""
    from actual import Actual
    from actual.database import Transactions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Actual(server.url, token=server.token, file=file_id, data_dir=tmp / f"fresh-{uuid.uuid4().hex}",
                    encryption_password=encryption_password) as actual:
            return {t.id: (t.category_id, t.tombstone, t.notes, t.amount)
                    for t in actual.session.query(Transactions).all()}


def server_logins(server, deadline: float = 10) -> int:
    """Login requests in the server's log, after the log has caught up with our earlier requests.

    The server writes its request log asynchronously; a request of our own to a logged endpoint,
    awaited in the log, is the barrier.
    """
    def count(pattern: str) -> int:
        return len(re.findall(pattern, server.log_path.read_text(errors="replace")))

    marker = r"GET \d+ /account/needs-bootstrap"
    seen = count(marker)
    urllib.request.urlopen(f"{server.url}/account/needs-bootstrap", timeout=5).read()
    end = time.monotonic() + deadline
    while count(marker) <= seen:
        assert time.monotonic() < end, "the server log did not catch up"
        time.sleep(0.02)
    return count(r"POST \d+ /account/login")

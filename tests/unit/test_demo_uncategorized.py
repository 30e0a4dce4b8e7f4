"""The demo connector follows the same meaning of "uncategorized" and of a hidden category as Actual's."""
from __future__ import annotations

import sqlite3
from contextlib import closing

from budget.demo import SKIP_HIDDEN_CATEGORY, DemoConnector


def noop(done: int, total: int) -> None:
    pass


def test_every_demo_transaction_is_on_budget_so_uncategorized_is_no_category(tmp_path):
    conn = DemoConnector(tmp_path / "demo", 5)
    conn.pull_latest(noop)
    txs = conn.transactions()
    assert {t.account_id for t in txs} <= {a.id for a in conn.accounts()}
    assert any(t.category_id is None for t in txs) and any(t.category_id for t in txs)


def test_a_category_hidden_after_the_suggestion_is_skipped(tmp_path):
    conn = DemoConnector(tmp_path / "demo", 5)
    conn.pull_latest(noop)
    first, second = [t.id for t in conn.transactions() if t.category_id is None][:2]
    with closing(sqlite3.connect(conn.server_path)) as server, server:
        server.execute("UPDATE categories SET hidden = 1 WHERE id = 'cat-coffee'")
    result = conn.set_categories({first: "cat-coffee", second: "cat-groceries"}, noop)
    assert result.skipped == {first: SKIP_HIDDEN_CATEGORY} and result.applied == [second]
    assert {t.id: t.category_id for t in conn.transactions()}[first] is None

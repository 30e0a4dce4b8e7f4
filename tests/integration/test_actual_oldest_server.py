"""The connector's basic flow (sync, suggest, apply, snapshot) against the oldest Actual server tested.

Budgets made by sync-server 25.6.0 lack `categories.template_settings`, a column actualpy's ORM
selects; the connector must not need it. The README names this version.
"""
from __future__ import annotations

import pytest

from budget.actual import ActualConnector, ActualSession
from suggestions.engine import SuggestionEngine
from tests.support.actual_fixtures import ACTUAL_TEST_PASSWORD, seed_actual_budget
from tests.support.actual_server import OLDEST_SERVER_VERSION, start_actual_server

pytestmark = [pytest.mark.actual, pytest.mark.integration]


def no_progress(done: int, total: int) -> None:
    pass


@pytest.fixture(scope="module")
def oldest_server(actual_install, tmp_path_factory):
    server = start_actual_server(tmp_path_factory.mktemp("actual-oldest"), ACTUAL_TEST_PASSWORD,
                                 cache_dir=actual_install, version=OLDEST_SERVER_VERSION)
    try:
        yield server
    finally:
        server.stop()


def test_sync_suggest_and_apply_work_on_a_budget_of_the_oldest_server(oldest_server, tmp_path):
    b = seed_actual_budget(oldest_server.url, oldest_server.token, tmp_path / "seed", "Old household",
                           n_transactions=150)
    session = ActualSession(oldest_server.url, oldest_server.password, token=oldest_server.token)
    conn = ActualConnector(session, b.file_id, tmp_path / "copy")
    first = conn.pull_latest(no_progress)
    assert first.total == len(b.eligible)
    import sqlite3

    with sqlite3.connect(conn.db_path) as db:  # the copy is the old server's own shape
        assert "template_settings" not in {r[1] for r in db.execute("PRAGMA table_info(categories)")}

    transactions = conn.transactions()
    history = [t for t in transactions if t.category_id]
    targets = [t for t in transactions if not t.category_id]
    outcome = SuggestionEngine().propose(history, targets, conn.categories(), no_progress)
    assert outcome.proposals
    chosen = {p.transaction_id: p.category_id for p in outcome.proposals[:20]}
    result = conn.set_categories(chosen, no_progress)
    assert sorted(result.applied) == sorted(chosen) and not result.skipped

    fresh = ActualConnector(session, b.file_id, tmp_path / "fresh")  # what a new device downloads
    fresh.fresh_download(no_progress)
    on_server = {t.id: t.category_id for t in fresh.transactions()}
    assert all(on_server[tx] == cat for tx, cat in chosen.items())
    assert conn.pull_latest(no_progress).changed == 0
    assert conn.snapshot(tmp_path / "snap.sqlite").transaction_count > len(b.eligible)

"""A warm sync on a real Actual server: nothing new on the server means nothing read here (issue 15, item 2).

Counted, not timed: `budget.actual.connector.READS` counts full reads of a working copy's eligible
transactions and pulls that found the copy untouched. Also: the copy's index is never trusted once the copy
changed (another client's edit, our own apply, a corrupt index file), and a stack logs in to Actual at start
(the web once, before it forks its workers; the worker once), so no job or request pays it.
"""
from __future__ import annotations

import decimal
import datetime as dt

import pytest

from budget.actual import ActualConnector
from budget.actual import connector as actual_connector
from budget.actual.copy_index import NAME as INDEX_NAME
from tests.support.actual_fixtures import OtherClient, server_logins
from tests.support.stack import Stack
from testkit.procs import wait_until

pytestmark = [pytest.mark.actual, pytest.mark.integration]


def no_progress(done: int, total: int) -> None:
    pass


@pytest.fixture(scope="module")
def budget(seed_budget):
    return seed_budget("Warm household", n_transactions=200)


@pytest.fixture
def connector(actual_session, budget, tmp_path) -> ActualConnector:
    return ActualConnector(actual_session, budget.file_id, tmp_path / "budgets" / budget.file_id)


def reads() -> dict:
    return dict(actual_connector.READS)


def delta(before: dict, key: str) -> int:
    return actual_connector.READS[key] - before.get(key, 0)


def uncategorized(connector: ActualConnector) -> set[str]:
    return {t.id for t in connector.transactions() if t.category_id is None}


def test_a_warm_pull_with_nothing_new_reads_nothing(connector, budget):
    first = connector.pull_latest(no_progress)
    assert (first.new, first.changed, first.total) == (len(budget.eligible), 0, len(budget.eligible))
    expected = uncategorized(connector)  # the first full read also keeps the copy's index
    assert expected == set(budget.uncategorized) | {i for i in budget.split_children if i in expected}
    seen = reads()
    for _ in range(2):
        again = connector.pull_latest(no_progress)
        assert (again.new, again.changed, again.total) == (0, 0, len(budget.eligible))
        assert set(connector.uncategorized_ids()) == expected
    assert delta(seen, "eligible") == 0  # neither the pulls nor the uncategorized ids read the copy
    assert delta(seen, "pull_unchanged") == 2


def test_a_first_download_is_read_once_and_the_next_step_reads_nothing_again(connector):
    seen = reads()
    first = connector.pull_latest(no_progress)
    assert first.new == first.total > 0 and delta(seen, "eligible") == 1  # the count comes from that one read
    ids = set(connector.uncategorized_ids())
    assert ids == uncategorized(connector) and len(connector.transactions()) == first.total
    assert delta(seen, "eligible") == 1  # a job's suggestions step after its sync: served from that read


def edit(server, budget, tmp_path, category: str, tx_id: str, new_payee: str | None = None) -> str | None:
    """Another client sets `tx_id`'s category (and adds an uncategorized transaction for `new_payee`)."""
    other = OtherClient(server, budget.file_id, tmp_path)
    try:
        from actual.queries import create_transaction_from_ids

        other.tx(tx_id).category_id = budget.categories[category]
        added = None
        if new_payee:
            added = create_transaction_from_ids(other.s, dt.date(2024, 6, 1), budget.accounts["Checking"],
                                                budget.payees[new_payee], "new one", None, decimal.Decimal("-12.5")).id
        other.commit_and_close()
        return added
    except BaseException:
        other.close()
        raise


def test_another_clients_edit_is_read_and_counted_then_warm_again(connector, budget, actual_server, tmp_path):
    connector.pull_latest(no_progress)
    connector.transactions()  # after a first download: the index keeps the uncategorized ids, not the digests
    edited = budget.uncategorized[0]
    added_id = edit(actual_server, budget, tmp_path, "Groceries", edited, new_payee="SuperMart")
    seen = reads()
    result = connector.pull_latest(no_progress)
    assert (result.new, result.changed) == (1, 1)
    assert delta(seen, "eligible") == 2 and delta(seen, "pull_unchanged") == 0  # before (not kept) and after
    ids = set(connector.uncategorized_ids())
    assert edited not in ids and added_id in ids
    assert ids == uncategorized(connector)
    seen = reads()
    for _ in range(3):  # actualpy alone would get the newest millisecond's messages again on every pull
        assert connector.pull_latest(no_progress).new == 0
    assert delta(seen, "pull_unchanged") == 3 and delta(seen, "eligible") == 0
    edit(actual_server, budget, tmp_path, "Transport", added_id)
    seen = reads()
    result = connector.pull_latest(no_progress)
    assert (result.new, result.changed) == (0, 1)
    assert delta(seen, "eligible") == 1  # the digests the last changed pull kept: only the copy after is read
    assert added_id not in set(connector.uncategorized_ids())


def test_our_own_apply_changes_the_copy_and_the_index_is_not_trusted(connector, budget):
    connector.pull_latest(no_progress)
    before = uncategorized(connector)
    tx = sorted(before & set(budget.uncategorized))[-1]
    outcome = connector.set_categories({tx: budget.categories["Travel"]}, no_progress)
    assert outcome.applied == [tx]
    ids = set(connector.uncategorized_ids())
    assert tx not in ids and ids == before - {tx}
    assert uncategorized(connector) == before - {tx}  # what the connector read before the apply is not reused
    seen = reads()
    result = connector.pull_latest(no_progress)  # the apply wrote to the copy: the index no longer matches
    assert delta(seen, "eligible") >= 1 and result.total == len(budget.eligible) + 1  # (+1: the earlier test's)


def test_a_corrupt_or_foreign_index_is_ignored(connector, budget):
    connector.pull_latest(no_progress)
    expected = uncategorized(connector)
    index = connector.data_dir / INDEX_NAME
    assert index.is_file()
    index.write_bytes(b"budget-assist-copy-index 1\n{\"state\": [0, 0, 0, 0], \"total\": 1, \"uncategorized\": []}\n")
    assert set(connector.uncategorized_ids()) == expected  # a state that is not the file's: read the copy
    index.write_bytes(b"not an index at all")
    seen = reads()
    result = connector.pull_latest(no_progress)
    assert (result.new, result.changed) == (0, 0) and delta(seen, "eligible") == 1
    assert set(connector.uncategorized_ids()) == expected


def test_a_stack_logs_in_at_start_and_no_job_or_request_logs_in_again(actual_server, budget, tmp_path):
    before = server_logins(actual_server)
    stack = Stack(tmp_path / "data", {"ACTUAL_SERVER_URL": actual_server.url,
                                      "ACTUAL_PASSWORD": actual_server.password, "WEB_CONCURRENCY": "2"})
    try:
        stack.start(workers=1)
        wait_until(lambda: "worker ready on" in stack.logs(), 60, 0.1, "the worker to be ready")
        at_start = server_logins(actual_server)
        assert at_start == before + 2  # the web (once, in gunicorn's master, before it forks) and the worker
        for _ in range(4):  # both web workers answer some of these
            r = stack.api("GET", "/api/budgets")
            assert r.status_code == 200 and budget.file_id in r.text
        job = stack.post_job("sync-and-suggest", budget.file_id)
        detail = stack.wait_job(job["id"], timeout=120)
        assert detail["job"]["status"] == "succeeded", detail
        assert server_logins(actual_server) == at_start
    finally:
        stack.stop()

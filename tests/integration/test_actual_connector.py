"""The Actual connector against a real Actual sync server (started once per session)."""
from __future__ import annotations

import datetime as dt
import decimal
import http.server
import threading
import uuid

import pytest

from budget.actual import ActualConnector, ActualSession
from budget.connector import ConnectorError, SnapshotFile
from tests.support.actual_server import free_port, start_actual_server
from tests.support.actual_fixtures import OtherClient, server_logins, server_state

pytestmark = [pytest.mark.actual, pytest.mark.integration]


def no_progress(done: int, total: int) -> None:
    pass


def assert_secret_free(exc: ConnectorError, *secrets: str) -> None:
    assert exc.message and len(exc.message) > 20
    for secret in secrets:
        if secret:
            assert secret not in exc.message
            assert secret not in str(exc)
            assert secret not in repr(exc.args)


@pytest.fixture(scope="module")
def budget(seed_budget):
    return seed_budget("Household", n_transactions=300)


@pytest.fixture
def connector(actual_session, budget, tmp_path) -> ActualConnector:
    return ActualConnector(actual_session, budget.file_id, tmp_path / "budgets" / budget.file_id)


# ---------------------------------------------------------------------------------------------
def test_session_lists_files_and_reuses_token(actual_server, actual_session, budget):
    logins = server_logins(actual_server)
    files = actual_session.list_budget_files()
    assert (budget.file_id, "Household") in files
    assert actual_session.file_exists(budget.file_id)
    assert not actual_session.file_exists(str(uuid.uuid4()))
    assert server_logins(actual_server) == logins  # the fixture's token was reused, no new login


def test_first_pull_downloads_into_data_dir_then_is_incremental(connector, budget):
    progress = []
    first = connector.pull_latest(lambda d, t: progress.append((d, t)))
    assert (first.new, first.changed, first.total) == (len(budget.eligible), 0, len(budget.eligible))
    assert (connector.data_dir / "db.sqlite").is_file()
    assert (connector.data_dir / "metadata.json").is_file()
    assert progress and progress[-1][0] == progress[-1][1]
    second = connector.pull_latest(no_progress)
    assert (second.new, second.changed, second.total) == (0, 0, len(budget.eligible))


def test_transactions_skip_transfers_starting_balances_split_parents_and_deleted(connector, budget):
    connector.pull_latest(no_progress)
    txs = connector.transactions()
    ids = {t.id for t in txs}
    assert ids == budget.eligible
    assert len(txs) >= 300
    for excluded in budget.transfers + budget.starting_balances + budget.split_parents + budget.deleted:
        assert excluded not in ids
    assert budget.starting_balances and budget.transfers and budget.split_parents and budget.deleted
    assert set(budget.split_children) <= ids
    by_id = {t.id: t for t in txs}
    assert all(by_id[i].category_id is None for i in budget.uncategorized)
    assert all(by_id[i].category_id in budget.categories.values() for i in budget.categorized)
    sample = by_id[budget.uncategorized[0]]
    assert isinstance(sample.amount, int) and isinstance(sample.date, dt.date)
    assert sample.account_name in ("Checking", "Credit Card")
    assert sample.payee_name in budget.payees and sample.payee_id == budget.payees[sample.payee_name]
    assert sample.imported_payee.startswith(f"POS {sample.payee_name.upper()} ")  # Actual's imported payee reaches the engine
    assert sample.notes.startswith("seed ")
    cats = {c.name: c for c in connector.categories()}
    assert cats["Groceries"].group_name == "Usual Expenses" and cats["Groceries"].id == budget.categories["Groceries"]
    assert {a.name for a in connector.accounts()} == {"Checking", "Credit Card"}
    assert set(budget.payees) <= {p.name for p in connector.payees()}


def test_set_categories_reaches_server_and_never_overwrites(actual_server, connector, budget, tmp_path):
    connector.pull_latest(no_progress)
    groceries, travel = budget.categories["Groceries"], budget.categories["Travel"]
    to_apply = budget.uncategorized[10:40]
    raced_categorized, raced_deleted = budget.uncategorized[40], budget.uncategorized[41]
    # another client changes two transactions after our sync (after the suggestions were made)
    other = OtherClient(actual_server, budget.file_id, tmp_path)
    other.tx(raced_categorized).category_id = travel
    other.tx(raced_deleted).delete()
    other.commit_and_close()

    assignments = {tx: groceries for tx in to_apply}
    assignments[raced_categorized] = groceries
    assignments[raced_deleted] = groceries
    assignments[budget.deleted[0]] = groceries
    assignments[str(uuid.uuid4())] = groceries
    progress = []
    result = connector.set_categories(assignments, lambda d, t: progress.append((d, t)))

    assert sorted(result.applied) == sorted(to_apply)
    assert result.skipped[raced_categorized] == "already categorized on the server"
    assert result.skipped[raced_deleted] == "deleted on the server"
    assert result.skipped[budget.deleted[0]] == "deleted on the server"
    assert len(result.skipped) == 4
    assert progress[-1] == (len(assignments), len(assignments))

    state = server_state(actual_server, budget.file_id, tmp_path)
    assert all(state[tx][0] == groceries for tx in to_apply)
    assert state[raced_categorized][0] == travel  # the other client's choice was kept
    assert state[raced_deleted][1] == 1
    assert state[budget.uncategorized[50]][0] is None  # untouched
    # the working copy agrees with the server
    local = {t.id: t.category_id for t in connector.transactions()}
    assert all(local[tx] == groceries for tx in to_apply)
    assert local[raced_categorized] == travel and raced_deleted not in local
    # applying again is idempotent: reported applied, nothing changes
    again = connector.set_categories({to_apply[0]: groceries}, no_progress)
    assert again.applied == [to_apply[0]] and not again.skipped


def test_other_clients_changes_after_an_apply_show_up_on_next_pull(actual_server, connector, budget, tmp_path):
    connector.pull_latest(no_progress)
    hobbies = budget.categories["Hobbies"]
    applied = connector.set_categories({budget.uncategorized[60]: hobbies}, no_progress)
    assert applied.applied == [budget.uncategorized[60]]

    from actual.queries import create_transaction_from_ids

    other = OtherClient(actual_server, budget.file_id, tmp_path)
    other.tx(budget.uncategorized[61]).category_id = hobbies
    other.tx(budget.categorized[5]).notes = "edited elsewhere"
    other.tx(budget.categorized[6]).delete()
    new_tx = create_transaction_from_ids(other.s, dt.date(2025, 1, 2), budget.accounts["Checking"],
                                         budget.payees["Pizza Place"], "new elsewhere", None, decimal.Decimal("-12.5"))
    new_id = new_tx.id
    other.commit_and_close()

    result = connector.pull_latest(no_progress)
    assert result.new == 1
    assert result.changed == 3  # categorized, edited, deleted
    by_id = {t.id: t for t in connector.transactions()}
    assert by_id[new_id].amount == -1250 and by_id[new_id].notes == "new elsewhere"
    assert by_id[budget.uncategorized[61]].category_id == hobbies
    assert by_id[budget.categorized[5]].notes == "edited elsewhere"
    assert budget.categorized[6] not in by_id
    assert by_id[budget.uncategorized[60]].category_id == hobbies  # our own change is still there


def test_snapshot_copies_the_working_copy(connector, budget, tmp_path):
    connector.pull_latest(no_progress)
    snap = connector.snapshot(tmp_path / "snaps" / "s1.sqlite")
    assert isinstance(snap, SnapshotFile)
    assert snap.path.is_file() and snap.size_bytes == snap.path.stat().st_size > 0
    # all live rows (transfers, splits, starting balances included), not only the eligible ones
    assert snap.transaction_count > len(connector.transactions()) >= 300
    assert snap.category_count == len(connector.categories()) >= len(budget.categories)
    import sqlite3

    with sqlite3.connect(snap.path) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM transactions WHERE tombstone = 0")}
    assert ids >= {t.id for t in connector.transactions()} and len(ids) == snap.transaction_count


def test_sync_id_reset_is_reported_and_fresh_download_recovers(actual_server, actual_session, seed_budget, tmp_path):
    b = seed_budget("Reset me", n_transactions=60)
    conn = ActualConnector(actual_session, b.file_id, tmp_path / "budgets" / b.file_id)
    conn.pull_latest(no_progress)
    old_group = conn._local_group_id()

    other = OtherClient(actual_server, b.file_id, tmp_path)
    other.tx(b.uncategorized[0]).notes = "after reset"
    other.actual.commit()
    other.actual.reupload_budget()  # "Reset sync" in the web app: new sync id
    other.close()

    with pytest.raises(ConnectorError) as info:
        conn.pull_latest(no_progress)
    assert info.value.code == "actual_sync_reset" and "Download Budget Again" in info.value.message
    with pytest.raises(ConnectorError) as info:
        conn.set_categories({b.uncategorized[1]: b.categories["Travel"]}, no_progress)
    assert info.value.code == "actual_sync_reset"
    assert conn._local_group_id() == old_group  # the copy was left alone

    result = conn.fresh_download(no_progress)
    assert conn._local_group_id() != old_group
    assert result.total == len(b.eligible) and result.new == 0 and result.changed == 1
    assert {t.id: t.notes for t in conn.transactions()}[b.uncategorized[0]] == "after reset"
    assert conn.pull_latest(no_progress).changed == 0
    applied = conn.set_categories({b.uncategorized[1]: b.categories["Travel"]}, no_progress)
    assert applied.applied == [b.uncategorized[1]]
    assert server_state(actual_server, b.file_id, tmp_path)[b.uncategorized[1]][0] == b.categories["Travel"]
    assert not [p for p in conn.data_dir.parent.iterdir() if ".download-" in p.name or ".old-" in p.name]


def test_sync_id_reset_auto_recovery_when_enabled(actual_server, actual_session, seed_budget, tmp_path):
    b = seed_budget("Reset auto", n_transactions=20)
    conn = ActualConnector(actual_session, b.file_id, tmp_path / "copy", auto_recover_reset=True)
    conn.pull_latest(no_progress)
    other = OtherClient(actual_server, b.file_id, tmp_path)
    other.actual.reupload_budget()
    other.close()
    result = conn.pull_latest(no_progress)
    assert result.total == len(b.eligible)
    assert conn._local_group_id() == other.actual.file.group_id


# -- failures ---------------------------------------------------------------------------------
def test_unknown_file_is_budget_not_found(actual_session, actual_server, tmp_path):
    missing = str(uuid.uuid4())
    conn = ActualConnector(actual_session, missing, tmp_path / missing)
    for call in (lambda: conn.pull_latest(no_progress), lambda: conn.fresh_download(no_progress)):
        with pytest.raises(ConnectorError) as info:
            call()
        assert info.value.code == "budget_not_found" and not info.value.transient
        assert missing in info.value.message
        assert_secret_free(info.value, actual_server.password, actual_server.token)
    assert not (tmp_path / missing / "db.sqlite").exists()


def test_unreachable_server_is_transient():
    port = free_port()  # nothing listens there
    session = ActualSession(f"http://127.0.0.1:{port}", "unreachable-secret-pw")
    with pytest.raises(ConnectorError) as info:
        session.list_budget_files()
    assert info.value.transient and info.value.code == "actual_unreachable"
    assert f"127.0.0.1:{port}" in info.value.message
    assert_secret_free(info.value, "unreachable-secret-pw")


class _Answer500(http.server.BaseHTTPRequestHandler):
    def _fail(self):
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"internal-error")

    do_GET = do_POST = _fail

    def log_message(self, *args):
        pass


@pytest.fixture
def server_500():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer500)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_server_5xx_is_transient(server_500, tmp_path):
    session = ActualSession(server_500, "five-hundred-secret")
    with pytest.raises(ConnectorError) as info:
        session.list_budget_files()
    assert info.value.transient and info.value.code == "actual_server_error" and "HTTP 500" in info.value.message
    assert_secret_free(info.value, "five-hundred-secret")
    # with a token already in hand (no login), the file download fails the same way
    with_token = ActualSession(server_500, "five-hundred-secret", token="tok-secret-123")
    conn = ActualConnector(with_token, str(uuid.uuid4()), tmp_path / "x")
    with pytest.raises(ConnectorError) as info:
        conn.pull_latest(no_progress)
    assert info.value.transient and info.value.code == "actual_server_error"
    assert_secret_free(info.value, "five-hundred-secret", "tok-secret-123")


def test_wrong_password_on_a_server_of_its_own_is_not_retried(tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    own = start_actual_server(tmp_path / "own", "the-right-password")
    try:
        before = server_logins(own)  # the helper's one successful login
        session = ActualSession(own.url, "a-wrong-password-xyz")
        for _ in range(3):
            with pytest.raises(ConnectorError) as info:
                session.list_budget_files()
            assert info.value.code == "actual_auth" and not info.value.transient
            assert "ACTUAL_PASSWORD" in info.value.message
            assert_secret_free(info.value, "a-wrong-password-xyz", "the-right-password")
        conn = ActualConnector(session, str(uuid.uuid4()), tmp_path / "c")
        with pytest.raises(ConnectorError) as info:
            conn.pull_latest(no_progress)
        assert info.value.code == "actual_auth"
        assert server_logins(own) == before + 1  # exactly one failed attempt, never retried
        # the right password logs in once and keeps its token
        good = ActualSession(own.url, "the-right-password")
        assert good.list_budget_files() == [] and good.list_budget_files() == []
        assert server_logins(own) == before + 2
        assert caplog.records and "a-wrong-password-xyz" not in caplog.text
        assert "the-right-password" not in caplog.text and good._token not in caplog.text
    finally:
        own.stop()


def test_encrypted_file_needs_the_encryption_password(actual_server, actual_session, tmp_path, seed_budget):
    from tests.support.actual_fixtures import seed_actual_budget

    key = "enc-secret-" + uuid.uuid4().hex[:6]
    b = seed_actual_budget(actual_server.url, actual_server.token, tmp_path / "seed", "Encrypted",
                           n_transactions=30, encryption_password=key)
    without = ActualConnector(actual_session, b.file_id, tmp_path / "a")
    with pytest.raises(ConnectorError) as info:
        without.pull_latest(no_progress)
    assert info.value.code == "actual_encryption" and "ACTUAL_ENCRYPTION_PASSWORD" in info.value.message
    assert_secret_free(info.value, key, actual_server.password, actual_server.token)

    wrong = ActualConnector(actual_session, b.file_id, tmp_path / "b", encryption_password="not-the-key-987")
    with pytest.raises(ConnectorError) as info:
        wrong.pull_latest(no_progress)
    assert info.value.code == "actual_encryption"
    assert_secret_free(info.value, "not-the-key-987", key)
    assert not (tmp_path / "b" / "db.sqlite").exists()

    right = ActualConnector(actual_session, b.file_id, tmp_path / "c", encryption_password=key)
    assert right.pull_latest(no_progress).total == len(b.eligible)
    result = right.set_categories({b.uncategorized[0]: b.categories["Salary"]}, no_progress)
    assert result.applied == [b.uncategorized[0]]
    state = server_state(actual_server, b.file_id, tmp_path, encryption_password=key)
    assert state[b.uncategorized[0]][0] == b.categories["Salary"]


def test_nothing_is_marked_applied_when_the_server_does_not_accept(tmp_path):
    """The server goes away between the checks and the commit: nothing applied, copy unchanged."""
    from tests.support.actual_fixtures import seed_actual_budget

    own = start_actual_server(tmp_path / "own", "pw-for-commit-test")
    try:
        b = seed_actual_budget(own.url, own.token, tmp_path / "seed", "Commit fails", n_transactions=30)
        session = ActualSession(own.url, own.password, token=own.token)
        conn = ActualConnector(session, b.file_id, tmp_path / "copy")
        conn.pull_latest(no_progress)
        target = b.uncategorized[0]
        travel = b.categories["Travel"]

        class Cancelled(Exception):
            pass

        def cancel(done, total):
            raise Cancelled()

        with pytest.raises(Cancelled):  # a cancelled apply sends nothing
            conn.set_categories({target: travel}, cancel)

        def stop_server(done, total):
            own.stop()

        with pytest.raises(ConnectorError) as info:
            conn.set_categories({target: travel}, stop_server)
        assert info.value.transient and info.value.code == "actual_unreachable"
        assert {t.id: t.category_id for t in conn.transactions()}[target] is None  # local copy untouched

        restarted = start_actual_server(tmp_path / "own", own.password, bootstrap=False, port=own.port)
        own = restarted
        restarted.token = session.token
        assert server_state(restarted, b.file_id, tmp_path)[target][0] is None  # the server never got it
        assert conn.pull_latest(no_progress).changed == 0
        assert conn.set_categories({target: travel}, no_progress).applied == [target]
        assert server_state(restarted, b.file_id, tmp_path)[target][0] == travel
    finally:
        own.stop()


def test_rejected_token_logs_in_again_once(actual_server):
    session = ActualSession(actual_server.url, actual_server.password, token="not-a-valid-token")
    before = server_logins(actual_server)
    assert session.list_budget_files()
    assert session.list_budget_files()
    assert server_logins(actual_server) == before + 1


def test_one_job_at_a_time_per_working_copy(actual_session, budget, tmp_path):
    first = ActualConnector(actual_session, budget.file_id, tmp_path / "copy")
    second = ActualConnector(actual_session, budget.file_id, tmp_path / "copy")
    with first._locked():
        with pytest.raises(ConnectorError) as info:
            second.pull_latest(no_progress)
        assert info.value.code == "budget_busy" and info.value.transient
    result = second.pull_latest(no_progress)  # earlier tests in this module changed the budget
    assert result.new == result.total > 290


class _NotActual(http.server.BaseHTTPRequestHandler):
    """Some other web server: answers 200 with HTML to everything."""

    def _page(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>hello</html>")

    do_GET = do_POST = _page

    def log_message(self, *args):
        pass


def test_a_server_that_is_not_actual_gives_a_readable_error():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotActual)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        for session in (ActualSession(url, "not-actual-pw"), ActualSession(url, "not-actual-pw", token="tok-abc-987")):
            with pytest.raises(ConnectorError) as info:
                session.list_budget_files()
            assert "ACTUAL_SERVER_URL" in info.value.message or "ACTUAL_PASSWORD" in info.value.message
            assert_secret_free(info.value, "not-actual-pw", "tok-abc-987")
    finally:
        httpd.shutdown()
        httpd.server_close()

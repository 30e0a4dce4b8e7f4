import sqlite3
import threading

import pytest

from budget import demo_data
from budget.connector import ConnectorError
from budget.demo import SKIP_CATEGORIZED, SKIP_DELETED, SKIP_UNKNOWN_CATEGORY, DemoConnector
from budget.faults import FaultInjection, write_faults


def noop(done, total):
    return None


class Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, done, total):
        self.calls.append((done, total))

    def assert_regular(self):
        assert self.calls, "progress never called"
        dones = [d for d, _ in self.calls]
        assert all(0 <= b - a <= 100 for a, b in zip(dones, dones[1:]))
        assert self.calls[-1][0] == self.calls[-1][1]


@pytest.fixture
def conn(tmp_path):
    c = DemoConnector(tmp_path / "demo", seed=11)
    yield c
    c.close()


def uncategorized(c):
    return [t for t in c.transactions() if t.category_id is None]


def test_seeding_is_deterministic_and_sized(tmp_path):
    a = DemoConnector(tmp_path / "a", seed=5)
    b = DemoConnector(tmp_path / "b", seed=5)
    other = DemoConnector(tmp_path / "c", seed=6)
    try:
        ta = a.transactions()
        assert ta == b.transactions()
        assert ta != other.transactions()
        assert len(ta) == len(demo_data.generate_history(5))
        assert 2700 <= len(ta) <= 3300
        assert all(t.category_id for t in ta)
        assert len(a.accounts()) >= 3 and len(a.categories()) >= 20 and len(a.payees()) >= 60
        assert {c.group_name for c in a.categories()} >= {"Bills", "Food", "Income"}
    finally:
        for c in (a, b, other):
            c.close()


def test_ensure_seeded_is_idempotent_and_safe_concurrently(tmp_path):
    root = tmp_path / "shared"
    connectors = [DemoConnector(root, seed=3) for _ in range(4)]
    barrier = threading.Barrier(len(connectors))
    results, errors = [], []

    def seed(c):
        try:
            barrier.wait()
            results.append(c.ensure_seeded())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=seed, args=(c,)) for c in connectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [False, False, False, True]
    assert connectors[0].ensure_seeded() is False
    count = sqlite3.connect(root / "server.sqlite").execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
    assert count == len(demo_data.generate_history(3))
    for c in connectors:
        c.close()
    with pytest.raises(ConnectorError):
        DemoConnector(root, seed=4).ensure_seeded()


def test_pull_latest_brings_new_uncategorized_batches_for_many_syncs(conn):
    base = len(conn.transactions())
    seen = set()
    for n in range(1, 23):
        before = {t.id for t in conn.transactions()}
        result = conn.pull_latest(noop)
        after = conn.transactions()
        added = [t for t in after if t.id not in before]
        assert 10 <= result.new <= 40
        assert result.new == len(added) and result.changed == 0
        assert result.total == len(after)
        assert all(t.category_id is None for t in added)
        assert {t.id for t in added} == {t.id for t in demo_data.next_batch(11, n)}
        seen |= {t.id for t in added}
    assert conn.batches_imported() == 22
    assert len(conn.transactions()) == base + len(seen)


def test_pull_counts_server_side_changes_and_progress(conn):
    conn.pull_latest(noop)
    target = uncategorized(conn)[0]
    conn.simulate_remote_change(target.id, category_id="cat-groceries")
    rec = Recorder()
    result = conn.pull_latest(rec)
    assert result.changed == 1
    rec.assert_regular()
    assert {t.id: t for t in conn.transactions()}[target.id].category_id == "cat-groceries"


def test_fresh_download_replaces_working_copy_with_progress(conn, tmp_path):
    conn.pull_latest(noop)
    # A local edit in the working copy only: a fresh download must discard it.
    w = sqlite3.connect(conn.working_path)
    w.execute("DELETE FROM transactions WHERE rowid IN (SELECT rowid FROM transactions LIMIT 5)")
    w.commit()
    w.close()
    rec = Recorder()
    result = conn.fresh_download(rec)
    rec.assert_regular()
    assert len(rec.calls) >= result.total // 100
    assert result.new == result.total == len(conn.transactions())
    server_count = sqlite3.connect(conn.server_path).execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
    assert result.total == server_count
    assert not (conn.root / "working.sqlite.download").exists()


def test_cancelled_fresh_download_keeps_the_previous_copy(conn):
    before = conn.transactions()

    def cancel(done, total):
        if done >= 200:
            raise KeyboardInterrupt  # any exception; a BaseException checks the cleanup path too

    with pytest.raises(KeyboardInterrupt):
        conn.fresh_download(cancel)
    assert conn.transactions() == before
    assert not (conn.root / "working.sqlite.download").exists()


def test_transactions_creates_the_working_copy_when_missing(tmp_path):
    c = DemoConnector(tmp_path / "d", seed=2)
    assert not c.working_path.exists()
    assert c.transactions()
    assert c.working_path.exists()
    c.close()


def test_set_categories_applies_skips_and_is_idempotent(conn):
    conn.pull_latest(noop)
    u = uncategorized(conn)
    a, b, gone, taken = u[0], u[1], u[2], u[3]
    conn.simulate_remote_change(gone.id, deleted=True)
    conn.simulate_remote_change(taken.id, category_id="cat-coffee")
    assignments = {
        a.id: "cat-groceries",
        b.id: "cat-fuel",
        gone.id: "cat-fuel",
        taken.id: "cat-groceries",
        "no-such-transaction": "cat-fuel",
        u[4].id: "cat-no-such-category",
    }
    first = conn.set_categories(assignments, noop)
    assert sorted(first.applied) == sorted([a.id, b.id])
    assert first.skipped == {
        gone.id: SKIP_DELETED,
        "no-such-transaction": SKIP_DELETED,
        taken.id: SKIP_CATEGORIZED,
        u[4].id: SKIP_UNKNOWN_CATEGORY,
    }
    working = {t.id: t for t in conn.transactions()}
    assert working[a.id].category_id == "cat-groceries" and working[b.id].category_id == "cat-fuel"

    server = sqlite3.connect(conn.server_path)
    version = server.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]
    second = conn.set_categories(assignments, noop)
    assert second == first  # same category already there: reported applied, nothing written
    assert server.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0] == version
    different = conn.set_categories({a.id: "cat-coffee"}, noop)
    assert different.applied == [] and different.skipped == {a.id: SKIP_CATEGORIZED}
    server.close()
    # The next pull does not report the applied rows as changed (working copy already has them).
    assert conn.pull_latest(noop).changed == 2  # the two remote edits above


def test_set_categories_progress_every_100(conn):
    for _ in range(12):
        conn.pull_latest(noop)
    u = uncategorized(conn)
    assert len(u) > 100
    rec = Recorder()
    result = conn.set_categories({t.id: "cat-groceries" for t in u}, rec)
    rec.assert_regular()
    assert len(result.applied) == len(u)
    assert uncategorized(conn) == []


def test_snapshot_writes_a_consistent_copy(conn, tmp_path):
    conn.pull_latest(noop)
    dest = tmp_path / "snaps" / "one.sqlite"
    snap = conn.snapshot(dest)
    assert snap.path == dest and dest.exists() and snap.size_bytes == dest.stat().st_size > 0
    assert snap.transaction_count == len(conn.transactions())
    assert snap.category_count == len(conn.categories())
    copy = sqlite3.connect(dest)
    assert copy.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == snap.transaction_count
    copy.close()
    again = conn.snapshot(dest)  # overwrite is fine
    assert again.transaction_count == snap.transaction_count


def faulty(tmp_path, root: str, **kinds):
    """A demo connector behind the test-only fault injection, with a fault file written for it."""
    injection = FaultInjection(tmp_path / "faults")
    write_faults(injection.faults_dir, root, **kinds)
    return injection.wrap(root, DemoConnector(tmp_path / root, seed=1))


@pytest.mark.parametrize("method", ["pull_latest", "fresh_download", "set_categories", "snapshot", "transactions"])
def test_fail_on_raises_connector_error(tmp_path, method):
    c = faulty(tmp_path, "f", fail_on={method: "Demo budget unavailable"})
    calls = {
        "pull_latest": lambda: c.pull_latest(noop),
        "fresh_download": lambda: c.fresh_download(noop),
        "set_categories": lambda: c.set_categories({}, noop),
        "snapshot": lambda: c.snapshot(tmp_path / "s.sqlite"),
        "transactions": lambda: c.transactions(),
    }
    with pytest.raises(ConnectorError) as info:
        calls[method]()
    assert info.value.message == "Demo budget unavailable"
    c.close()


def test_fail_on_file_hook(tmp_path):
    c = faulty(tmp_path, "g", fail_on={"pull_latest": "Bank feed down"})
    assert c.categories()  # other methods still work
    with pytest.raises(ConnectorError, match="Bank feed down"):
        c.pull_latest(noop)
    c.close()


def test_transient_failures_are_counted_across_openings(tmp_path):
    outcomes = []
    for _ in range(3):  # each step opens its connector again; the count lives on in the faults folder
        c = faulty(tmp_path, "t", fail_on={"pull_latest": "transient:2:Bank connection reset"})
        try:
            outcomes.append(c.pull_latest(noop).new > 0)
        except ConnectorError as exc:
            outcomes.append((exc.message, exc.transient))
        c.close()
    assert outcomes == [("Bank connection reset", True), ("Bank connection reset", True), True]


def test_delay_on_reports_progress_while_it_waits(tmp_path):
    c = faulty(tmp_path, "d", delay_on={"pull_latest": 0.1})
    calls = Recorder()
    c.pull_latest(calls)
    assert calls.calls[:2] == [(1, 2), (2, 2)]
    c.close()


def test_without_a_fault_file_the_connector_is_not_wrapped(tmp_path):
    connector = DemoConnector(tmp_path / "n", seed=1)
    assert FaultInjection(tmp_path / "faults").wrap("n", connector) is connector
    connector.close()


def test_progress_may_stop_a_pull(conn):
    conn.fresh_download(noop)

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    with pytest.raises(Stop):
        conn.pull_latest(stop)
    # The batch reached the server; the next pull copies it.
    assert conn.pull_latest(noop).new >= 20

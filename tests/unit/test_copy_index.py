"""The working copy's index (budget/actual/copy_index.py) is trusted only for the exact file it was written for."""
from __future__ import annotations

import sqlite3

from budget.actual.copy_index import NAME, CopyIndex, digest, file_state


def make_copy(folder):
    folder.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(folder / "db.sqlite")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, category TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [("a", None), ("b", "c1")])
    conn.commit()
    conn.close()
    return folder / "db.sqlite"


def test_the_index_is_read_back_for_the_same_file_state(tmp_path):
    db = make_copy(tmp_path / "copy")
    index = CopyIndex(tmp_path / "copy")
    state = file_state(db)
    index.write(state, {"a": 1, "b": 2}, ["a"], last_message="2026-11-30T00:00:00.000Z-0001-x")
    summary = index.summary()
    assert (summary.total, summary.uncategorized, summary.last_message) == (2, ["a"], "2026-11-30T00:00:00.000Z-0001-x")
    assert index.load(state)[1] == {"a": 1, "b": 2}


def test_any_committed_write_makes_the_index_stale(tmp_path):
    db = make_copy(tmp_path / "copy")
    index = CopyIndex(tmp_path / "copy")
    index.write(file_state(db), {"a": 1, "b": 2}, ["a"])
    conn = sqlite3.connect(db)
    conn.execute("UPDATE t SET category = 'c2' WHERE id = 'a'")  # same size, maybe the same mtime tick
    conn.commit()
    conn.close()
    assert index.summary() is None and index.load(file_state(db)) is None


def test_reading_leaves_the_state_alone(tmp_path):
    db = make_copy(tmp_path / "copy")
    state = file_state(db)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (2,)
    conn.close()
    assert file_state(db) == state


def test_a_journal_beside_the_file_means_unknown(tmp_path):
    db = make_copy(tmp_path / "copy")
    (tmp_path / "copy" / "db.sqlite-journal").write_bytes(b"hot")
    assert file_state(db) is None
    index = CopyIndex(tmp_path / "copy")
    index.write(None, {"a": 1}, [])
    assert not (tmp_path / "copy" / NAME).exists()


def test_a_summary_without_digests_and_a_damaged_file(tmp_path):
    db = make_copy(tmp_path / "copy")
    index = CopyIndex(tmp_path / "copy")
    state = file_state(db)
    index.write(state, None, ["a"], total=2)
    assert index.summary().total == 2 and index.load(state) is None
    (tmp_path / "copy" / NAME).write_bytes(b"budget-assist-copy-index 1\n{not json")
    assert index.summary() is None and index.load(state) is None


def test_digests_tell_rows_apart_and_ignore_the_id():
    assert digest(("x", "acct", 5, None)) == digest(("y", "acct", 5, None))
    assert digest(("x", "acct", 5, None)) != digest(("x", "acct", 5, "cat"))

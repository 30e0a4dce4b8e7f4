"""Processes writing one SQLite file take turns on its writer lock file, and never wait forever for it."""
from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import sqlite3
import time

import pytest

from core import file_lock
from core.file_lock import WriterFileLock, writer_lock_for
from core.queue import make_huey
from models import db

fork = multiprocessing.get_context("fork")


def _hold(path: str, seconds: float, ready, done_at) -> None:
    """In a child: take the lock, say so, hold it `seconds`, record when it let go."""
    lock = WriterFileLock(path)
    with lock.held():
        ready.set()
        time.sleep(seconds)
        done_at.value = time.monotonic()


def _start_holder(path: str, seconds: float):
    ready, done_at = fork.Event(), fork.Value("d", 0.0)
    child = fork.Process(target=_hold, args=(path, seconds, ready, done_at))
    child.start()
    assert ready.wait(10)
    return child, done_at


def test_a_second_process_waits_for_the_holder_and_goes_on_when_it_lets_go(tmp_path):
    path = str(tmp_path / "app.db")
    child, done_at = _start_holder(path, 0.3)
    with WriterFileLock(path).held():
        taken_at = time.monotonic()
    child.join(10)
    assert done_at.value > 0 and taken_at >= done_at.value
    assert taken_at - done_at.value < 0.25  # it polls every millisecond at most, not SQLite's 10-100 ms sleeps


def test_a_waiter_gives_up_as_sqlites_busy_timeout_would(tmp_path):
    path = str(tmp_path / "app.db")
    child, _ = _start_holder(path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            with WriterFileLock(path, timeout=0.2).held():
                pass
        assert 0.2 <= time.monotonic() - started < 5
    finally:
        child.kill()
        child.join(10)


def test_a_killed_holder_loses_the_lock(tmp_path):
    path = str(tmp_path / "app.db")
    child, _ = _start_holder(path, 30)
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    with WriterFileLock(path, timeout=2).held():
        pass


def _try_in_child(lock: WriterFileLock, result) -> None:
    try:
        with lock.held():
            result.value = 1
    except sqlite3.OperationalError:
        result.value = 2


def test_a_forked_child_opens_its_own_descriptor_and_so_waits_its_turn(tmp_path):
    lock = WriterFileLock(str(tmp_path / "app.db"), timeout=0.2)
    result = fork.Value("i", 0)
    with lock.held():  # the parent opened the file before the fork, as gunicorn's master may
        child = fork.Process(target=_try_in_child, args=(lock, result))
        child.start()
        child.join(10)
    assert result.value == 2  # a shared descriptor would have let the child in at once
    child = fork.Process(target=_try_in_child, args=(lock, result))
    child.start()
    child.join(10)
    assert result.value == 1


def test_in_memory_databases_have_no_lock_file():
    assert writer_lock_for(":memory:") is None and writer_lock_for(None) is None
    assert writer_lock_for("/data/app.db").path == "/data/app.db.writer-lock"


def test_a_file_system_without_flock_leaves_writers_to_sqlites_lock(tmp_path, monkeypatch, caplog):
    def no_locks(fd, op):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(file_lock.fcntl, "flock", no_locks)
    lock = WriterFileLock(str(tmp_path / "app.db"))
    for _ in range(2):
        with lock.held():
            pass
    assert not lock.usable
    assert [r.levelname for r in caplog.records if "writer lock" in r.getMessage()] == ["WARNING"]


def _write_in_transaction(url: str, seconds: float, ready) -> None:
    db.open_database(url)
    with db.write_transaction():
        db.database.execute_sql("insert into t values (1)")
        ready.set()
        time.sleep(seconds)


def test_write_transactions_of_two_processes_take_turns_on_the_app_databases_lock_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    db.open_database(url)
    db.database.execute_sql("create table t (x integer)")
    ready = fork.Event()
    child = fork.Process(target=_write_in_transaction, args=(url, 0.3, ready))
    child.start()
    assert ready.wait(10)
    lock_file = str(tmp_path / "app.db") + ".writer-lock"
    with open(lock_file, "ab") as probe:  # the child holds the lock file while its transaction is open
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    with db.write_transaction():
        db.database.execute_sql("insert into t values (2)")
    child.join(10)
    assert db.database.execute_sql("select x from t order by rowid").fetchall() == [(1,), (2,)]
    db.database.close()


def _enqueue_while_holding(path: str, ready, release) -> None:
    lock = WriterFileLock(path)
    with lock.held():
        ready.set()
        release.wait(10)


def test_the_queue_waits_for_another_processs_write_then_enqueues(tmp_path):
    path = tmp_path / "queue.db"
    huey = make_huey(f"sqlite:///{path}", "lock-test")

    @huey.task()
    def noop():
        return None

    noop()  # creates the schema
    ready, release = fork.Event(), fork.Event()
    child = fork.Process(target=_enqueue_while_holding, args=(str(path), ready, release))
    child.start()
    assert ready.wait(10)
    fork.Process(target=lambda: (time.sleep(0.2), release.set())).start()
    started = time.monotonic()
    noop()
    assert time.monotonic() - started >= 0.15  # it waited for the other process's turn
    child.join(10)
    assert huey.pending_count() == 2
    assert huey.dequeue() is not None and huey.pending_count() == 1

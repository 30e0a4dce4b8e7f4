"""Worker threads take turns around each task on the baton and lend it out while a step's work runs."""
from __future__ import annotations

import threading
import time

import pytest

from core.baton import Baton
from core.queue import make_huey


def test_a_thread_holds_the_baton_until_it_gives_it_back():
    baton = Baton()
    assert baton.take(0.1) and baton.held()
    other = []
    t = threading.Thread(target=lambda: other.append(baton.take(0.05)))
    t.start(), t.join()
    assert other == [False]
    baton.give_back()
    assert not baton.held()
    baton.give_back()  # holding none, nothing happens


def test_a_lent_baton_lets_another_thread_run_and_comes_back():
    baton = Baton()
    baton.take(0.1)
    seen = []
    with baton.lent():
        t = threading.Thread(target=lambda: seen.append((baton.take(1), baton.give_back())))
        t.start(), t.join()
        assert not baton.held()
    assert seen == [(True, None)] and baton.held()


def test_lending_without_the_baton_is_a_plain_block():
    baton = Baton()
    with baton.lent():
        assert not baton.held()
    assert not baton.held()


@pytest.fixture()
def huey(tmp_path):
    huey = make_huey(f"sqlite:///{tmp_path / 'queue.db'}", "baton-test", baton=Baton())
    huey.baton_wait_seconds = 0.05
    return huey


def test_a_dequeued_task_keeps_the_baton_until_it_has_run(huey):
    ran = []

    @huey.task()
    def note(n):
        ran.append((n, huey.baton.held()))

    note(1), note(2)
    task = huey.dequeue()
    assert huey.baton.held()
    other = []
    t = threading.Thread(target=lambda: other.append(huey.dequeue()))
    t.start(), t.join()
    assert other == [None]  # the second task waits for this one's turn to end
    huey.execute(task)
    assert ran == [(1, True)] and not huey.baton.held()
    t = threading.Thread(target=lambda: other.append(huey.execute(huey.dequeue())))
    t.start(), t.join()
    assert ran == [(1, True), (2, True)] and not huey.baton.held()


def test_a_failing_task_an_error_in_huey_and_an_empty_queue_give_the_baton_back(huey, monkeypatch):
    @huey.task()
    def boom():
        raise ValueError("no")

    boom(), boom()
    huey.execute(huey.dequeue())  # huey logs the task's error
    assert not huey.baton.held()
    task = huey.dequeue()
    monkeypatch.setattr(huey, "_execute", lambda *a: (_ for _ in ()).throw(RuntimeError("storage gone")))
    with pytest.raises(RuntimeError):
        huey.execute(task)
    assert not huey.baton.held()
    assert huey.dequeue() is None and not huey.baton.held()


def test_a_task_run_without_a_dequeue_runs_as_plain_huey(huey):
    @huey.task()
    def hello():
        return "hi"

    assert hello.call_local() == "hi" and not huey.baton.held()


def test_a_redis_queue_gets_no_baton():
    huey = make_huey("redis://127.0.0.1:6379/15", "baton-test", baton=Baton())
    assert getattr(huey, "baton", None) is None


def test_two_threads_alternate_on_short_tasks_and_both_run(huey):
    done = []

    @huey.task()
    def short(n):
        done.append((n, threading.current_thread().name))

    for i in range(40):
        short(i)
    stop = time.monotonic() + 5

    def loop():
        while time.monotonic() < stop and len(done) < 40:
            task = huey.dequeue()
            if task is not None:
                huey.execute(task)

    threads = [threading.Thread(target=loop, name=f"w{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(n for n, _ in done) == list(range(40))

"""The Huey instance for a QUEUE_URL: SQLite by default, Redis to scale out."""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Callable, Iterator, Optional
from urllib.parse import urlparse

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.constants import EmptyData
from huey.storage import SqliteStorage

from core.baton import Baton
from core.file_lock import WriterFileLock, writer_lock_for


class TunedSqliteStorage(SqliteStorage):
    """Huey's SQLite storage with synchronous=NORMAL (safe in WAL mode across process crashes), three
    per-task writes made single statements, and every write taken in turn with the other processes.

    Huey runs every task with an enqueue (BEGIN EXCLUSIVE, INSERT, COMMIT), a dequeue (a quick check, then
    BEGIN EXCLUSIVE, SELECT, DELETE, COMMIT) and a delete of its revoke key (BEGIN EXCLUSIVE, SELECT, COMMIT,
    even when there is none). Here the enqueue is one INSERT and the dequeue one DELETE ... RETURNING, each
    atomic on its own (a write statement takes the write lock before it reads, so the busy timeout applies),
    and the revoke key is only deleted when there is one. Each write first takes the file's writer lock
    (core/file_lock.py), so a web process enqueueing never sleeps in SQLite's busy handler behind another.
    """

    _dequeue_sql = ("delete from task where id = (select id from task where queue = ? "
                    "order by priority desc, id limit 1) returning data")

    _enqueue_sql = "insert into task (queue, data, priority) values (?, ?, ?)"

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Huey's signature
        self._write_turn = threading.Lock()  # before Huey's own set-up, which creates the tables
        self._writer_lock: Optional[WriterFileLock] = None
        super().__init__(*args, **kwargs)
        self._writer_lock = writer_lock_for(self.filename, self._timeout)

    def _create_connection(self):  # noqa: ANN202 - Huey's signature
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """This process's turn to write the file: its threads one at a time (they share the lock file's
        descriptor), then the processes on the file's writer lock."""
        with self._write_turn, self._writer_lock.held() if self._writer_lock else contextlib.nullcontext():
            yield

    @contextlib.contextmanager
    def db(self, commit=False, close=False):  # noqa: ANN001, ANN201 - Huey's signature
        with self._writing() if commit else contextlib.nullcontext(), super().db(commit, close) as cursor:
            yield cursor

    def enqueue(self, data, priority=None):  # noqa: ANN001, ANN201 - Huey's signature
        with self._writing():
            self.sql(self._enqueue_sql, (self.name, self.to_blob(data), priority or 0))

    def dequeue(self):  # noqa: ANN201 - Huey's signature
        if not self.sql("select 1 from task where queue = ? limit 1", (self.name,), results=True):
            return None
        with self._writing():
            rows = self.sql(self._dequeue_sql, (self.name,), results=True)
        return rows[0][0] if rows else None

    def pop_data(self, key):  # noqa: ANN001, ANN201 - Huey's signature
        if not self.has_data_for_key(key):
            return EmptyData
        return super().pop_data(key)


class ConsumerHook:
    """Calls `before_consumer` when huey_consumer creates its consumer (after it attached its log handler)."""

    before_consumer: Optional[Callable[[], None]] = None

    def create_consumer(self, **options):  # noqa: ANN201 - Huey's signature
        if self.before_consumer is not None:
            self.before_consumer()
        return super().create_consumer(**options)


class BatonTurns:
    """A worker thread takes the process's baton to dequeue and holds it until its task returns (core/baton.py).

    Only for a queue whose dequeue does not block (SQLite): a thread holding the baton through a blocking read
    would keep the other from its next task. Without a baton (the default), Huey as it is.
    """

    baton: Optional[Baton] = None
    baton_wait_seconds = 0.5  # a thread that waited this long polls again, as on an empty queue

    def dequeue(self):  # noqa: ANN201 - Huey's signature
        baton = self.baton
        if baton is None or baton.held():
            return super().dequeue()
        if not baton.take(self.baton_wait_seconds):
            return None
        try:
            task = super().dequeue()
        except BaseException:
            baton.give_back()
            raise
        if task is None:
            baton.give_back()
        return task

    def execute(self, task, timestamp=None):  # noqa: ANN001, ANN201 - Huey's signature
        baton = self.baton
        if baton is None or not baton.held():
            return super().execute(task, timestamp)
        try:
            return super().execute(task, timestamp)
        finally:
            baton.give_back()


class TunedSqliteHuey(ConsumerHook, BatonTurns, SqliteHuey):
    """SqliteHuey on the tuned storage, taking turns on a baton when one is given."""

    storage_class = TunedSqliteStorage


class HookedRedisHuey(ConsumerHook, RedisHuey):
    """RedisHuey with the consumer hook."""


def make_huey(queue_url: str, name: str = "budget-assist",
              before_consumer: Optional[Callable[[], None]] = None, baton: Optional[Baton] = None) -> Huey:
    """A Huey for `queue_url` (sqlite:///path or redis://host:port/db); results are not stored.

    `before_consumer` runs in huey_consumer before the consumer starts (the worker's logging set-up); `baton`,
    on SQLite, makes the worker threads take turns around each task (core/baton.py).
    """
    huey = _make_huey(queue_url, name)
    huey.before_consumer = before_consumer
    if isinstance(huey, BatonTurns):
        huey.baton = baton
    return huey


def _make_huey(queue_url: str, name: str) -> Huey:
    parsed = urlparse(queue_url)
    if parsed.scheme == "sqlite":
        path = queue_url[len("sqlite:///"):] if queue_url.startswith("sqlite:///") else parsed.path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return TunedSqliteHuey(name, filename=path, results=False, journal_mode="wal", timeout=10)
    if parsed.scheme in ("redis", "rediss"):
        return HookedRedisHuey(name, url=queue_url, results=False, blocking=True, read_timeout=1)
    raise ValueError(f"QUEUE_URL must start with sqlite:/// or redis://, got {parsed.scheme!r}")

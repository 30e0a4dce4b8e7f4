"""The Huey instance for a QUEUE_URL: SQLite by default, Redis to scale out."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlparse

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.constants import EmptyData
from huey.storage import SqliteStorage


class TunedSqliteStorage(SqliteStorage):
    """Huey's SQLite storage with synchronous=NORMAL (safe in WAL mode across process crashes), and two
    per-task writes made single statements.

    Huey runs every task with a dequeue (a quick check, then BEGIN EXCLUSIVE, SELECT, DELETE, COMMIT) and
    a delete of its revoke key (BEGIN EXCLUSIVE, SELECT, COMMIT, even when there is none). Here the
    dequeue is one DELETE ... RETURNING (a write statement takes the write lock before it reads, so the
    busy timeout applies) and the revoke key is only deleted when there is one.
    """

    _dequeue_sql = ("delete from task where id = (select id from task where queue = ? "
                    "order by priority desc, id limit 1) returning data")

    def _create_connection(self):  # noqa: ANN202 - Huey's signature
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn

    def dequeue(self):  # noqa: ANN201 - Huey's signature
        if not self.sql("select 1 from task where queue = ? limit 1", (self.name,), results=True):
            return None
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


class TunedSqliteHuey(ConsumerHook, SqliteHuey):
    """SqliteHuey on the tuned storage."""

    storage_class = TunedSqliteStorage


class HookedRedisHuey(ConsumerHook, RedisHuey):
    """RedisHuey with the consumer hook."""


def make_huey(queue_url: str, name: str = "budget-assist",
              before_consumer: Optional[Callable[[], None]] = None) -> Huey:
    """A Huey for `queue_url` (sqlite:///path or redis://host:port/db); results are not stored.

    `before_consumer` runs in huey_consumer before the consumer starts (the worker's logging set-up).
    """
    huey = _make_huey(queue_url, name)
    huey.before_consumer = before_consumer
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
